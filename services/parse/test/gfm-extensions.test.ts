import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { micromarkOptions } from '../src/parse-markdown.js';
import { bigDocument, syntheticCorpus } from '../../../test/bench/corpus.js';

const GOLDEN = new URL('../../../test/fixtures/golden/', import.meta.url);
const fullGfm = (src: string) => fromMarkdown(src, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
const ours = (src: string) => fromMarkdown(src, micromarkOptions(src));
/**
 * The tree with positions kept on blocks only: links found by mdast-util-gfm-autolink-literal's transform
 * carry none (the parser reads only blocks' positions: render.ts, tailIsOpen).
 */
function blockPositionsOnly(node: object, depth = 0): object {
  const { position, children, ...rest } = node as { position?: unknown; children?: object[] };
  return { ...rest, ...(depth <= 1 && position ? { position } : {}), ...(children ? { children: children.map((c) => blockPositionsOnly(c, depth + 1)) } : {}) };
}

/** Literal autolinks whose run of characters holds inline syntax: the cases that need the autolink tokenizer. */
const AUTOLINK_EDGES = [
  'Visit https://example.com/*foo*bar now', 'www.example.com/~a~b', 'http://a.com/path?x=**y**', 'https://example.com/`x`',
  'https://a.com/x*y*z', 'www.commonmark.org/he<lp', 'https://a.com/\\_x\\_', 'http://a.com&amp;b', 'https://a.com/[x](y)',
  'https://x.com/a~~b~~c', 'www.a.com/_b_', 'https://a.com/*', 'mail foo_bar_@example.com', '*user@example.com*', 'x@y.com_',
  '(see www.example.com)', 'foo@bar.baz.', 'https://example.com/foo_(bar)_baz', '~~https://strike.com~~', '**https://bold.com**',
  '- [ ] task www.a.com/*x*\n- [x] done', 'Text[^1] https://a.com/_b_\n\n[^1]: note', '| a | b |\n|---|---|\n| https://a.com/*x* | y@z.com_ |',
  'no links, no pipes, *just* ~~text~~ and `code`', 'a | b\n--|--\n1 | 2',
  '[text](https://a.com/*x*)', '[https://a.com/x](y)', '[a](https://b.com/c_d_e) and https://f.com/_g_', 'https://a.com/x._y_ www.b.com/c_',
  '<https://x.com> and <b>https://y.com/</b>', '![img](https://a.com/i.png) https://a.com/![x]', 'https://github.com/foo/bar_baz_qux',
];

describe('parse: GFM extensions chosen per segment', () => {
  it('builds the same tree as micromark-extension-gfm, block positions included', async () => {
    const golden = (await readdir(GOLDEN)).filter((f) => f.endsWith('.md'));
    const inputs = [
      ...AUTOLINK_EDGES,
      ...(await Promise.all(golden.map((f) => readFile(new URL(f, GOLDEN), 'utf8')))),
      ...syntheticCorpus(40).map((d) => d.text),
      ...Array.from({ length: 8 }, (_, i) => bigDocument(256 * 1024).slice(i * 16384, (i + 1) * 16384)),
    ];
    expect(golden.length).to.be.greaterThan(3);
    for (const src of inputs) expect(blockPositionsOnly(ours(src)), src.slice(0, 80)).to.deep.equal(blockPositionsOnly(fullGfm(src)));
  });

  it('keeps a literal autolink whole when its characters hold emphasis markers', () => {
    const p = ours('See https://example.com/*foo*bar now').children[0]!;
    expect(p.type).to.equal('paragraph');
    const link = (p as { children: { type: string; url?: string }[] }).children.find((c) => c.type === 'link');
    expect(link?.url).to.equal('https://example.com/*foo*bar');
  });
});
