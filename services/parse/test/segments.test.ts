import { expect } from 'chai';
import { parseMarkdown } from '../src/index.js';
import { segmentCuts } from '../src/segments.js';

const opts = { documentId: 'doc-1', sourceUri: 'file:///docs/big.md' };

/** A realistic document of `n` chapters exercising everything that could differ between whole and segmented parses. */
function generatedDoc(n: number): string {
  const parts: string[] = ['---\ntitle: Generated\ntags: [big]\n---\n', 'Preamble citing [the index][idx] and a note[^n0].\n'];
  for (let i = 0; i < n; i++) {
    parts.push(
      `# Chapter ${i}\n`,
      `Chapter ${i} body with *emphasis*, \`code ${i}\`, a [reference link][ref${i % 7}], a shortcut [idx] and [inline](ch${i}.md#top).\n`,
      `## Setup\n`, // duplicate heading paths across chapters → sibling ordinals and anchors -1, -2 …
      `1. Install\n2. Configure \`--port ${i}\`\n   - nested item\n3. Run:\n\n   \`\`\`sh\n   redis-server --port ${6379 + i}\n   \`\`\`\n`,
      '```bash\n# a comment, not a heading\nexport REDIS_URL=redis://localhost\n```\n',
      `<!--\n# commented-out heading ${i}\n-->\n`,
      `| Parameter | Description |\n|---|---|\n| \`p${i}\` | value ${i} |\n`,
      `> Quote with a footnote[^n${i % 5}].\n> # heading inside a quote\n`,
      `### Deep ${i}\n\n${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(20)}\n`,
    );
    if (i % 9 === 0) {
      // A fence whose over-indented "closer" fools the cut tracker; the segment tail check must merge.
      parts.push('```\ncode\n      ```\n# not a heading: still inside the fence\n```\n');
    }
    if (i % 11 === 0) parts.push('<div>\n# inside an html block\n</div>\n');
  }
  parts.push('[idx]: /index.md "Index"\n');
  for (let k = 0; k < 7; k++) parts.push(`[ref${k}]: https://example.com/r${k}\n`);
  for (let k = 0; k < 5; k++) parts.push(`\n[^n${k}]: Footnote ${k}.\n`);
  return parts.join('\n');
}

describe('parse: segmenting large documents', () => {
  const doc = generatedDoc(260);

  it('uses a generated document over 200 KB that really gets cut', () => {
    expect(Buffer.byteLength(doc)).to.be.greaterThan(200 * 1024);
    const cuts = segmentCuts(doc, 65536);
    expect(cuts.length).to.be.at.least(3);
    let prev = 0;
    for (const c of [...cuts, doc.length]) {
      expect(Buffer.byteLength(doc.slice(prev, c))).to.be.at.most(65536);
      prev = c;
    }
    for (const c of cuts) expect(doc.slice(c, c + 2)).to.match(/^#/);
  });

  it('gives exactly the result of parsing the whole document (64 KB segments)', () => {
    const whole = parseMarkdown(doc, { ...opts, segmentBytes: Infinity });
    const segmented = parseMarkdown(doc, { ...opts, segmentBytes: 65536 });
    expect(whole.sections.length).to.equal(1 + 3 * 260);
    expect(whole.links.length).to.be.greaterThan(700);
    expect(segmented).to.deep.equal(whole);
  });

  it('gives exactly the same result with tiny segments (a cut at nearly every heading)', () => {
    const small = generatedDoc(30);
    const whole = parseMarkdown(small, { ...opts, segmentBytes: Infinity });
    const cuts = segmentCuts(small, 512);
    expect(cuts.length).to.be.greaterThan(50);
    // The cut tracker is fooled by the over-indented closer: the tail check has to merge those pieces.
    expect(cuts.some((c) => small.startsWith('# not a heading', c))).to.equal(true);
    expect(parseMarkdown(small, { ...opts, segmentBytes: 512 })).to.deep.equal(whole);
  });

  it('resolves references across segments (definitions only at the end)', () => {
    const small = generatedDoc(30);
    const d = parseMarkdown(small, { ...opts, segmentBytes: 512 });
    const pre = d.sections[0]!;
    expect(pre.text).to.equal('Preamble citing the index and a note[^n0].');
    expect(d.links.filter((l) => l.sectionId === pre.id).map((l) => l.url)).to.deep.equal(['/index.md']);
    expect(d.links.map((l) => l.url)).to.include('https://example.com/r3');
  });

  it('never cuts inside fenced code or HTML blocks', () => {
    const md = `# A\n\n\`\`\`sh\n${'# comment\n'.repeat(50)}\`\`\`\n\n<!--\n${'# hidden\n'.repeat(50)}-->\n\n# B\n`;
    const cuts = segmentCuts(md, 64);
    expect(cuts.map((c) => md.slice(c, c + 3))).to.deep.equal(['# B']);
  });

  it('keeps a stretch without headings as one oversized piece', () => {
    const md = `# A\n\n${'word '.repeat(1000)}\n\n# B\n\nx\n`;
    expect(segmentCuts(md, 100)).to.deep.equal([md.indexOf('# B')]);
  });
});
