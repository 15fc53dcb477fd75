import { expect } from 'chai';
import { documentId, jobIdFor, normaliseName, normaliseText, parseJobId, sectionId, sourceUri } from '../../src/ids/ids.js';

describe('ids', () => {
  it('derives a stable docId from tag and source_uri, different per tag', () => {
    expect(documentId('a', 'file:///x.md')).to.equal(documentId('a', 'file:///x.md'));
    expect(documentId('a', 'file:///x.md')).to.not.equal(documentId('b', 'file:///x.md'));
  });
  it('keys sections by heading path and sibling ordinal', () => {
    const d = documentId('t', 'cli://t/a.md');
    expect(sectionId(d, ['A', 'B'], 0)).to.not.equal(sectionId(d, ['A', 'B'], 1));
    expect(sectionId(d, ['A', 'B'], 0)).to.equal(sectionId(d, ['A', 'B'], 0));
  });
  it('builds job ids without ":" and parses them back', () => {
    const d = documentId('t', 'x');
    const j = jobIdFor(d, 7);
    expect(j).to.not.contain(':');
    expect(parseJobId(j)).to.deep.equal({ documentId: d, generation: 7 });
  });
  it('normalises names and text', () => {
    expect(normaliseName('  Redis\u200B-CLI ')).to.equal('redis-cli');
    expect(normaliseText('\uFEFFa\r\nb\rc')).to.equal('a\nb\nc');
  });
  it('canonicalises source URIs', () => {
    expect(sourceUri.http('https://h/x.md?sig=1#a')).to.equal('https://h/x.md');
    expect(sourceUri.file('/w/in/a.md.ready')).to.equal('file:///w/in/a.md');
    expect(sourceUri.cli('redis', '/base/docs/a.md', '/base')).to.equal('cli://redis/docs/a.md');
  });
});
