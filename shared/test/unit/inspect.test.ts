import { expect } from 'chai';
import { inspectSubmission } from '../../src/admission/inspect.js';

const limits = { maxBytes: 1000, controlByteRatio: 0.1 };
const code = (b: Uint8Array) => { const r = inspectSubmission(b, limits); return r.ok ? 'OK' : r.status === 'REJECTED' ? r.code : `SKIPPED:${r.reason}`; };

describe('admission checks (DESIGN §5)', () => {
  it('rejects over the size cap', () => expect(code(Buffer.alloc(1001, 0x61))).to.equal('TOO_LARGE'));
  it('rejects binary by magic number and by control-byte ratio', () => {
    expect(code(Buffer.from('%PDF-1.7 hello'))).to.equal('NOT_TEXT');
    expect(code(Buffer.from([0x61, 0, 0, 0, 0, 1, 2, 3, 0x62]))).to.equal('NOT_TEXT');
  });
  it('rejects invalid UTF-8 but decodes BOM-marked UTF-16', () => {
    expect(code(Buffer.from([0x23, 0x20, 0xe9, 0x0a]))).to.equal('INVALID_ENCODING');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('# Hi\n', 'utf16le')]);
    const r = inspectSubmission(utf16, limits);
    expect(r.ok && r.text).to.equal('# Hi\n');
  });
  it('skips empty and whitespace-only input', () => expect(code(Buffer.from(' \n\t\n'))).to.equal('SKIPPED:empty'));
  it('normalises BOM and CRLF so line-ending churn keeps the checksum, and repairs a stray NUL', () => {
    const a = inspectSubmission(Buffer.from('\uFEFF# A\r\nbody\r\n'), limits);
    const b = inspectSubmission(Buffer.from('# A\nbody\n'), limits);
    expect(a.ok && b.ok && a.checksum === b.checksum).to.equal(true);
    const n = inspectSubmission(Buffer.from('# A\n' + 'text '.repeat(20) + '\u0000'), limits);
    expect(n.ok && n.text.endsWith('\uFFFD')).to.equal(true);
  });
});
