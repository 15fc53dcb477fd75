import { ErrorCode } from '../errors/errors.js';
import { checksumOf, normaliseText } from '../ids/ids.js';

export type Inspection =
  | { readonly ok: true; readonly text: string; readonly checksum: string }
  | { readonly ok: false; readonly status: 'REJECTED'; readonly code: string; readonly message: string }
  | { readonly ok: false; readonly status: 'SKIPPED'; readonly reason: 'empty' };

/** Magic numbers of common binary formats that can arrive with a .md name. */
const MAGIC: readonly (readonly number[])[] = [
  [0x25, 0x50, 0x44, 0x46], // %PDF
  [0x50, 0x4b, 0x03, 0x04], // zip, docx, xlsx, jar
  [0x89, 0x50, 0x4e, 0x47], // png
  [0xff, 0xd8, 0xff], // jpeg
  [0x47, 0x49, 0x46, 0x38], // gif
  [0x1f, 0x8b], // gzip
  [0x7f, 0x45, 0x4c, 0x46], // ELF
  [0x42, 0x5a, 0x68], // bzip2
  [0x28, 0xb5, 0x2f, 0xfd], // zstd
  [0x37, 0x7a, 0xbc, 0xaf], // 7z
];

const startsWith = (b: Uint8Array, sig: readonly number[]) => sig.every((v, i) => b[i] === v);

function decode(bytes: Uint8Array): string | { code: string; message: string } {
  try {
    if (startsWith(bytes, [0xff, 0xfe])) return new TextDecoder('utf-16le', { fatal: true }).decode(bytes.subarray(2));
    if (startsWith(bytes, [0xfe, 0xff])) return new TextDecoder('utf-16be', { fatal: true }).decode(bytes.subarray(2));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { code: ErrorCode.InvalidEncoding, message: 'the bytes are not valid UTF-8 (or BOM-marked UTF-16)' };
  }
}

/**
 * Admission checks (DESIGN §5) before any flow exists: size cap, binary content, encoding, emptiness.
 * Returns the normalised text (BOM stripped, CRLF → LF, NUL → U+FFFD) and its checksum.
 */
export function inspectSubmission(bytes: Uint8Array, limits: { maxBytes: number; controlByteRatio: number }): Inspection {
  if (bytes.byteLength > limits.maxBytes) {
    return { ok: false, status: 'REJECTED', code: ErrorCode.TooLarge, message: `${bytes.byteLength} bytes is over the ${limits.maxBytes}-byte cap` };
  }
  const utf16 = startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff]);
  if (!utf16) {
    if (MAGIC.some((sig) => startsWith(bytes, sig))) {
      return { ok: false, status: 'REJECTED', code: ErrorCode.NotText, message: 'the content starts with the signature of a binary format' };
    }
    const sample = bytes.subarray(0, 64 * 1024);
    let nul = 0;
    let control = 0;
    for (const b of sample) {
      if (b === 0) nul++;
      else if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) control++;
    }
    // A few stray NULs are repaired (→ U+FFFD); many are a binary file.
    if (sample.length > 0 && (nul + control) / sample.length > limits.controlByteRatio) {
      return { ok: false, status: 'REJECTED', code: ErrorCode.NotText, message: `${nul + control} of ${sample.length} sampled bytes are control bytes` };
    }
  }
  const decoded = decode(bytes);
  if (typeof decoded !== 'string') return { ok: false, status: 'REJECTED', ...decoded };
  const text = normaliseText(decoded).replace(/\u0000/g, '\uFFFD');
  if (text.trim() === '') return { ok: false, status: 'SKIPPED', reason: 'empty' };
  return { ok: true, text, checksum: checksumOf(text) };
}

/** Content type from the file name; the pipeline handles Markdown (HTML is taken as Markdown-compatible text). */
export function contentTypeOf(name: string): string {
  if (/\.html?$/i.test(name)) return 'text/html';
  return 'text/markdown';
}
