import { expect } from 'chai';
import { v5 as uuidv5 } from 'uuid';
import { documentId, ID_NAMESPACE, jobIdFor, normaliseName, normaliseText, parseJobId, sectionId, sourceUri, uuidV5 } from '../../src/ids/ids.js';

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
  it('derives UUIDv5 ids exactly as the uuid package does (every stored id depends on it)', () => {
    const names = ['', 'doc\u241fbench\u241fcli://bench/a.md', 'entity\u241fCommand\u241fredis-cli', 'Ünïcödé ﬁ 日本語 ✓', '😀 emoji pair', 'x'.repeat(5000),
      'tab\tnew\nline "quotes" \\ back', '\u0000nul', 'a\u241fb\u241f3'];
    for (let i = 0; i < 200; i++) names.push(`section\u241f${i}\u241f${JSON.stringify(['Install', `Step ${i}`, 'é'.repeat(i % 7)])}\u241f${i % 3}`);
    for (const name of names) expect(uuidV5(name), name.slice(0, 40)).to.equal(uuidv5(name, ID_NAMESPACE));
    expect(documentId('t', 'cli://t/a.md')).to.equal(uuidv5('doc\u241ft\u241fcli://t/a.md', ID_NAMESPACE));
    // A lone surrogate fails as it did with the package alone (encodeURIComponent's URIError).
    expect(() => uuidV5('bad \ud800 name')).to.throw(URIError);
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
