import { expect } from 'chai';
import { parseMarkdown } from '../src/index.js';
import { documentId, sectionId, sectionPartId, sha256Hex } from '../src/shared.js';

const docId = documentId('docs', 'file:///docs/guide.md');
const opts = { documentId: docId, sourceUri: 'file:///docs/guide.md' };

describe('parse: sections', () => {
  const md = [
    'Preamble text with a [link](other.md).',
    '',
    '# Guide',
    '',
    'Intro.',
    '',
    '## Install',
    '',
    'Install it.',
    '',
    '### On Linux',
    '',
    'apt.',
    '',
    '## Install',
    '',
    'Again.',
    '',
    '#### Deep `code` & *Stuff*!',
    '',
    '# Appendix',
  ].join('\n');
  const doc = parseMarkdown(md, opts);

  it('splits at headings 1–6 with level, ordinal, headingPath, anchor and parent', () => {
    const rows = doc.sections.map((s) => [s.ordinal, s.level, s.headingPath.join(' > '), s.anchor, s.title]);
    expect(rows).to.deep.equal([
      [0, 0, '', '', 'Guide'],
      [1, 1, 'Guide', 'guide', 'Guide'],
      [2, 2, 'Guide > Install', 'install', 'Install'],
      [3, 3, 'Guide > Install > On Linux', 'on-linux', 'On Linux'],
      [4, 2, 'Guide > Install', 'install-1', 'Install'],
      [5, 4, 'Guide > Install > Deep code & Stuff!', 'deep-code--stuff', 'Deep code & Stuff!'],
      [6, 1, 'Appendix', 'appendix', 'Appendix'],
    ]);
    const byOrdinal = doc.sections;
    expect(byOrdinal.map((s) => s.parentId)).to.deep.equal([
      null,
      null,
      byOrdinal[1]!.id,
      byOrdinal[2]!.id,
      byOrdinal[1]!.id,
      byOrdinal[4]!.id,
      null,
    ]);
  });

  it('derives ids from docId, heading path and the ordinal among same-path sections', () => {
    expect(doc.sections[0]!.id).to.equal(sectionId(docId, [], 0));
    expect(doc.sections[2]!.id).to.equal(sectionId(docId, ['Guide', 'Install'], 0));
    expect(doc.sections[4]!.id).to.equal(sectionId(docId, ['Guide', 'Install'], 1));
    expect(new Set(doc.sections.map((s) => s.id)).size).to.equal(doc.sections.length);
  });

  it('gives each section its own text only, starting with the heading line', () => {
    expect(doc.sections.map((s) => s.text)).to.deep.equal([
      'Preamble text with a link.',
      'Guide\n\nIntro.',
      'Install\n\nInstall it.',
      'On Linux\n\napt.',
      'Install\n\nAgain.',
      'Deep `code` & Stuff!',
      'Appendix',
    ]);
    for (const s of doc.sections) {
      expect(s.contentHash).to.equal(sha256Hex(s.text));
      expect(s.documentId).to.equal(docId);
    }
    expect(doc.sections[1]!.tokenCount).to.equal(2);
  });

  it('makes a preamble only when there is non-whitespace text before the first heading', () => {
    expect(parseMarkdown('\n\n   \n# A\n', opts).sections.map((s) => s.level)).to.deep.equal([1]);
    expect(parseMarkdown('[x]: /defined-only\n\n# A\n', opts).sections.map((s) => s.level)).to.deep.equal([1]);
    expect(parseMarkdown('<!-- comment -->\n\n# A\n', opts).sections.map((s) => s.level)).to.deep.equal([1]);
    const p = parseMarkdown('---\ntitle: Doc\n---\nHello.\n', opts).sections;
    expect(p).to.have.length(1);
    expect(p[0]).to.include({ level: 0, title: 'Doc', anchor: '', text: 'Hello.', parentId: null });
    expect(p[0]!.headingPath).to.deep.equal([]);
  });

  it('numbers duplicate anchors like GitHub (-1, -2) and honours explicit {#id}', () => {
    const s = parseMarkdown('# Usage\n## Usage\n### Usage\n## Custom title {#my-id}\n', opts).sections;
    expect(s.map((x) => x.anchor)).to.deep.equal(['usage', 'usage-1', 'usage-2', 'my-id']);
    expect(s[3]!.title).to.equal('Custom title');
    expect(s[3]!.text).to.equal('Custom title');
  });

  it('collects links per section, resolving reference links through their definitions', () => {
    const d = parseMarkdown(
      '# A\n\nSee [one][ref], <https://auto.example/x>, [two](./b.md#frag "T") and ![img](pic.png).\n\n# B\n\n[ref]\n\n[ref]: ../c.md\n',
      opts,
    );
    const [a, b] = d.sections;
    expect(d.links).to.deep.equal([
      { sectionId: a!.id, url: '../c.md' },
      { sectionId: a!.id, url: 'https://auto.example/x' },
      { sectionId: a!.id, url: './b.md#frag' },
      { sectionId: b!.id, url: '../c.md' },
    ]);
    expect(a!.text).to.equal('A\n\nSee one, https://auto.example/x, two and img.');
  });
});

describe('parse: section text rendering', () => {
  const textOf = (md: string): string => parseMarkdown(md, opts).sections.map((s) => s.text).join('\n\n');

  it('renders tables as `cell | cell` rows, header first, escaping | in cells', () => {
    const md = '| Parameter | Description |\n|---|:--|\n| `port` | TCP port, e.g. `6379` |\n| `a\\|b` | pipe **inside** |\n';
    expect(textOf(md)).to.equal('Parameter | Description\n`port` | TCP port, e.g. `6379`\n`a\\|b` | pipe inside');
  });

  it('keeps code blocks fenced with their language', () => {
    expect(textOf('```bash title="x"\nredis-cli ping\n```\n\n    indented code\n\n````md\n```\ninner\n```\n````\n')).to.equal(
      '```bash\nredis-cli ping\n```\n\n```\nindented code\n```\n\n````md\n```\ninner\n```\n````',
    );
  });

  it('renders lists with - and N. markers, nested items indented, task boxes kept', () => {
    const md = '3. Three\n4. Four\n   - nested *a*\n   - [x] done\n\n     continued\n5. Five\n\n   ```sh\n   make\n   ```\n';
    expect(textOf(md)).to.equal('3. Three\n4. Four\n   - nested a\n   - [x] done\n     continued\n5. Five\n   ```sh\n   make\n   ```');
  });

  it('renders blockquotes, hard breaks, html and footnotes as plain text', () => {
    const md = '> Quoted **bold**\n> line two\n\nHard  \nbreak <b>tag</b> & `<code>`\n\n<div>\n<p>Block <em>html</em></p>\n</div>\n\nNote[^1].\n\n[^1]: The note.\n\n---\n';
    expect(textOf(md)).to.equal('Quoted bold\nline two\n\nHard\nbreak tag & `<code>`\n\nBlock html\n\nNote[^1].\n\n[^1]: The note.');
  });

  it('puts inline code in backticks long enough for its content', () => {
    expect(textOf('Use `` a`b `` or ` `` `.')).to.equal('Use ``a`b`` or ``` `` ```.');
  });
});

describe('parse: sections over the token cap are split into parts', () => {
  const para = (n: number, w: string): string => Array.from({ length: n }, () => w).join(' ');
  const md = `# Big\n\n${para(30, 'alpha')}\n\n${para(30, 'beta')}\n\n${para(30, 'gamma')}\n\n## Child\n\nsmall\n`;
  const doc = parseMarkdown(md, { ...opts, maxSectionTokens: 70 });

  it('splits at block boundaries, each part headed by the heading line', () => {
    const base = sectionId(docId, ['Big'], 0);
    const parts = doc.sections.filter((s) => s.headingPath[0] === 'Big' && s.level === 1);
    expect(parts.map((p) => p.id)).to.deep.equal([sectionPartId(base, 0), sectionPartId(base, 1)]);
    expect(parts.map((p) => p.title)).to.deep.equal(['Big (part 1)', 'Big (part 2)']);
    expect(parts.map((p) => p.anchor)).to.deep.equal(['big', 'big']);
    expect(parts[0]!.text).to.equal(`Big\n\n${para(30, 'alpha')}\n\n${para(30, 'beta')}`);
    expect(parts[1]!.text).to.equal(`Big\n\n${para(30, 'gamma')}`);
    expect(parts.map((p) => p.tokenCount)).to.deep.equal([61, 31]);
    expect(parts.map((p) => p.ordinal)).to.deep.equal([0, 1]);
  });

  it('points children at the first part and keeps ordinals in document order', () => {
    const child = doc.sections.find((s) => s.title === 'Child')!;
    expect(child.parentId).to.equal(doc.sections[0]!.id);
    expect(child.ordinal).to.equal(2);
  });

  it('splits a single oversized code block at line boundaries, re-fencing each piece', () => {
    const code = Array.from({ length: 10 }, (_, i) => `echo line${i} a b c`).join('\n');
    const d = parseMarkdown(`# Code\n\n\`\`\`sh\n${code}\n\`\`\`\n`, { ...opts, maxSectionTokens: 25 });
    expect(d.sections.length).to.be.greaterThan(1);
    for (const s of d.sections) {
      expect(s.text).to.match(/^Code\n\n```sh\n[\s\S]*\n```$/);
      expect(s.tokenCount).to.be.at.most(25);
    }
    const lines = d.sections.flatMap((s) => s.text.split('\n').filter((l) => l.startsWith('echo')));
    expect(lines.join('\n')).to.equal(code);
  });

  it('leaves sections at or under the cap whole, with the base id', () => {
    const d = parseMarkdown('# Small\n\none two three\n', { ...opts, maxSectionTokens: 4 });
    expect(d.sections).to.have.length(1);
    expect(d.sections[0]!.id).to.equal(sectionId(docId, ['Small'], 0));
    expect(d.sections[0]!.title).to.equal('Small');
  });
});
