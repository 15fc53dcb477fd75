import { expect } from 'chai';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMarkdown } from '../src/index.js';
import { splitFrontMatter } from '../src/front-matter.js';
import { PermanentError } from '../src/shared.js';

const opts = { documentId: 'doc-1', sourceUri: 'file:///docs/guide.md' };

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(PermanentError);
    return (e as PermanentError).code;
  }
  return null;
}

describe('parse: front matter', () => {
  it('feeds title, description and tags to the document', () => {
    const doc = parseMarkdown('---\ntitle: "Install  Redis"\ndescription: >\n  How to install\n  Redis\ntags: [ops, install, ops]\n---\n# Heading\n\nBody.\n', opts);
    expect(doc.title).to.equal('Install Redis');
    expect(doc.description).to.equal('How to install Redis');
    expect(doc.tags).to.deep.equal(['ops', 'install']);
    expect(doc.sections.map((s) => s.title)).to.deep.equal(['Heading']);
  });

  it('accepts tags as a comma-separated string and `...` as the closing fence', () => {
    const doc = parseMarkdown('---\ntitle: T\ntags: a, b ,c\n...\nText\n', opts);
    expect(doc.tags).to.deep.equal(['a', 'b', 'c']);
    expect(doc.sections[0]!.text).to.equal('Text');
  });

  it('falls back to the first H1, then to the file name', () => {
    expect(parseMarkdown('Intro\n\n## Two\n\n# First one\n\n# Second\n', opts).title).to.equal('First one');
    expect(parseMarkdown('## Only h2\n', opts).title).to.equal('guide');
    expect(parseMarkdown('text', { documentId: 'd', sourceUri: 's3://bucket/a/b/My%20Doc.markdown' }).title).to.equal('My%20Doc');
    expect(parseMarkdown('text', { documentId: 'd', sourceUri: 'https://h/x/My%20Doc.md?sig=1' }).title).to.equal('My Doc');
  });

  it('treats an opening --- without a closing line as a thematic break, not front matter', () => {
    const doc = parseMarkdown('---\ntitle: x\n\nNo closing fence here.\n', opts);
    expect(doc.title).to.equal('guide');
    expect(doc.sections[0]!.text).to.equal('title: x\n\nNo closing fence here.');
  });

  it('strips a BOM and CRLF before looking for front matter', () => {
    const doc = parseMarkdown('\uFEFF---\r\ntitle: Windows\r\n---\r\n# A\r\n\r\nb\r\n', opts);
    expect(doc.title).to.equal('Windows');
    expect(doc.sections[0]!.text).to.equal('A\n\nb');
  });

  it('rejects closed front matter that is not valid YAML with BAD_FRONT_MATTER', () => {
    expect(codeOf(() => parseMarkdown('---\ntitle: [unclosed\n---\nbody\n', opts))).to.equal('BAD_FRONT_MATTER');
    expect(codeOf(() => parseMarkdown('---\na: 1\na: 2\n---\nbody\n', opts))).to.equal('BAD_FRONT_MATTER');
  });

  it('rejects alias bombs (billion laughs) before they expand', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    ].join('\n');
    const t0 = Date.now();
    expect(codeOf(() => parseMarkdown(`---\n${bomb}\n---\nbody\n`, opts))).to.equal('BAD_FRONT_MATTER');
    expect(Date.now() - t0).to.be.below(1000);
  });

  it('rejects front matter over the size cap', () => {
    const big = `---\ndescription: "${'x'.repeat(70 * 1024)}"\n---\nbody\n`;
    expect(codeOf(() => parseMarkdown(big, opts))).to.equal('BAD_FRONT_MATTER');
  });

  it('never evaluates executable front matter (---js) and rejects it', () => {
    const marker = join(tmpdir(), `fm-marker-${process.pid}`);
    rmSync(marker, { force: true });
    const payload = `---js\n{ title: require('fs').writeFileSync(${JSON.stringify(marker)}, 'x') }\n---\nbody\n`;
    expect(codeOf(() => parseMarkdown(payload, opts))).to.equal('BAD_FRONT_MATTER');
    expect(existsSync(marker)).to.equal(false);
  });

  it('keeps unknown YAML tags as plain strings (no custom tag executes)', () => {
    const fm = splitFrontMatter('---\ntitle: !!js/function "function () { return 1 }"\n---\nx');
    expect(fm.frontMatter?.title).to.equal('function () { return 1 }');
  });

  it('drops valid front matter that is not a mapping and goes on', () => {
    const doc = parseMarkdown('---\n- a\n- b\n---\n# H\n', opts);
    expect(doc.title).to.equal('H');
    expect(doc.tags).to.deep.equal([]);
  });

  it('cuts TOML front matter (+++) without interpreting it', () => {
    const doc = parseMarkdown('+++\ntitle = "Toml"\n+++\n# Real\n', opts);
    expect(doc.title).to.equal('Real');
    expect(doc.sections).to.have.length(1);
  });

  it('ignores non-string title values but keeps numbers', () => {
    expect(parseMarkdown('---\ntitle: {a: 1}\n---\n# H1\n', opts).title).to.equal('H1');
    expect(parseMarkdown('---\ntitle: 2024\n---\n# H1\n', opts).title).to.equal('2024');
  });
});
