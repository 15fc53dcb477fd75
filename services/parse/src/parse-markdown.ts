import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfmAutolinkLiteral } from 'micromark-extension-gfm-autolink-literal';
import { gfmFootnote } from 'micromark-extension-gfm-footnote';
import { gfmStrikethrough } from 'micromark-extension-gfm-strikethrough';
import { gfmTable } from 'micromark-extension-gfm-table';
import { gfmTaskListItem } from 'micromark-extension-gfm-task-list-item';
import type { Nodes, Root } from 'mdast';
import { defuseInlinePathologies } from './defuse.js';
import { checkTreeDepth, prescanDepth } from './depth.js';
import { splitFrontMatter, type FrontMatter } from './front-matter.js';
import { prescanSections, stripDataUris } from './limits.js';
import { stripGeneratorMarkup } from './generator-markup.js';
import { renderRoot, type Block, type DefinitionInfo, type LinkRef, type RenderedSegment } from './render.js';
import { buildSections } from './sections.js';
import { segmentCuts } from './segments.js';
import { normaliseText } from './shared.js';
import { resolveParseOptions, type ParseOptions, type ParsedDocument, type ResolvedParseOptions } from './types.js';

/**
 * Markdown → document fields, sections and links (DESIGN §5 parse). Pure and synchronous; run it through
 * ParsePool (parse-pool.ts) for untrusted input, so time and memory are bounded.
 *
 * Steps: normalise (BOM, CRLF, NUL → U+FFFD) → front matter → generator markup → inline-pathology
 * guard (defuse.ts), data: URIs cut (limits.ts) → nesting and section-count pre-scans →
 * segments (parsed one at a time with GFM, each checked for depth and rendered to compact blocks) →
 * sections and links.
 *
 * Throws PermanentError BAD_FRONT_MATTER, TOO_DEEP or TOO_MANY_SECTIONS.
 */
export function parseMarkdown(text: string, options: ParseOptions): ParsedDocument {
  const opts = resolveParseOptions(options);
  const prepared = prepareBody(text, opts);
  const { pieces } = renderPieces(prepared.body, [0, ...prepared.cuts, prepared.body.length], opts.maxDepth);
  return assembleDocument(prepared, pieces, opts);
}

/** The body with its front matter split off, cleaned, pre-scanned, and where it will be cut into segments. */
export interface PreparedBody {
  readonly frontMatter: FrontMatter | null;
  readonly body: string;
  /** Offsets in `body` where segments after the first start. */
  readonly cuts: number[];
}

/** A segment's rendering and where it lies in the body. */
export interface RenderedPiece {
  readonly start: number;
  readonly end: number;
  readonly render: RenderedSegment;
}

/** Phase 1: everything before micromark runs. Throws BAD_FRONT_MATTER, TOO_DEEP or TOO_MANY_SECTIONS. */
export function prepareBody(text: string, opts: ResolvedParseOptions): PreparedBody {
  const normalised = normaliseText(text).replace(/\u0000/g, '\uFFFD');
  const { frontMatter, body: afterFrontMatter } = splitFrontMatter(normalised);
  const body = defuseInlinePathologies(stripDataUris(stripGeneratorMarkup(afterFrontMatter)));
  prescanDepth(body, opts.maxDepth);
  prescanSections(body, opts.maxSections);
  const segmented = Number.isFinite(opts.segmentBytes) && body.length > opts.segmentBytes / 3 && Buffer.byteLength(body, 'utf8') > opts.segmentBytes;
  return { frontMatter, body, cuts: segmented ? segmentCuts(body, Math.min(opts.segmentBytes, FINE_SEGMENT_BYTES)) : [] };
}

/**
 * A body big enough to be segmented at all (over `segmentBytes`) is cut into pieces of at most 16 KB:
 * micromark keeps every token of a piece alive until the piece's tree is built, so the young generation's
 * collections copy (and promote) most of them; a smaller piece is more often built and dropped between two
 * collections. Cutting is output-neutral (segments.ts). 3 MB bench document, one thread, 4 parses each:
 * 64 KB pieces 4.1-5.1 s, 16 KB 3.8-4.1 s (8 MB semi-spaces: 3.0-4.1 s against 2.5-3.3 s).
 */
const FINE_SEGMENT_BYTES = 16 * 1024;

/** Phase 3: link definitions carried across segments, then sections and links. */
export function assembleDocument(prepared: PreparedBody, pieces: readonly RenderedPiece[], opts: ResolvedParseOptions): ParsedDocument {
  const { frontMatter, body } = prepared;
  const rendered = resolveAcrossPieces(body, pieces, opts.maxDepth);
  const blocks: Block[] = rendered.flatMap((r) => r.blocks);
  const definitions = new Map<string, DefinitionInfo>();
  for (const r of rendered) for (const d of r.definitions) if (!definitions.has(d.identifier)) definitions.set(d.identifier, d);
  const resolveLink = (ref: LinkRef): string | null =>
    'url' in ref ? ref.url : (definitions.get(ref.ref)?.url ?? null);

  const firstH1 = blocks.find((b) => b.kind === 'heading' && b.depth === 1 && b.title !== '');
  const title =
    frontMatter?.title ?? (firstH1?.kind === 'heading' ? firstH1.title : null) ?? titleFromUri(opts.sourceUri);
  const { sections, links } = buildSections(blocks, resolveLink, title, opts);
  return {
    title,
    description: frontMatter?.description ?? null,
    tags: frontMatter?.tags ?? [],
    sections,
    links,
  };
}

const AUTOLINK_CUE = /https?:\/\/|www\.|@/i;
const URL_CUE = /https?:\/\/|www\./i;
/** Inline syntax that can split a literal autolink; an underscore only where it can open or close emphasis. */
const INLINE_SYNTAX = /[*~`<\\&[\]]|(?:^|[^A-Za-z0-9])_|_(?:$|[^A-Za-z0-9])/;

/**
 * Some word (a literal autolink never spans whitespace) holds a literal-autolink cue with inline syntax in
 * what could be the link: from `http(s)://` or `www.` on (so `[text](https://…)` does not count), or
 * anywhere in a word with an `@`. Linear time.
 */
function autolinkNeedsTokenizer(src: string): boolean {
  if (!AUTOLINK_CUE.test(src)) return false;
  for (const [word] of src.matchAll(/\S+/g)) {
    const url = URL_CUE.exec(word);
    if (url && INLINE_SYNTAX.test(word.slice(url.index))) return true;
    if (word.includes('@') && INLINE_SYNTAX.test(word)) return true;
  }
  return false;
}

/**
 * GFM, as `micromark-extension-gfm` combines it (same extensions, same order), without the two costly
 * tokenizers where a segment cannot need them, so micromark does less and the tree is the same (a link
 * found by the transform below has no position of its own; only blocks' positions are ever read):
 *  - a table needs a `|` (every delimiter row holds one);
 *  - literal autolinks (`www.`, `http(s)://`, e-mail) are also found by mdast-util-gfm-autolink-literal's
 *    transform over text nodes; the tokenizer matters only where a link's run of characters holds inline
 *    syntax (emphasis, strikethrough, code, HTML, escapes, references, brackets) that would otherwise split
 *    it (`https://a.com/*b*`), so it runs for segments with such a word.
 * Each tokenizer tries at every possible start: measured, the autolink one doubles micromark's time and
 * tables add ~40 %. Trees identical to full GFM on the 477 redis-docs pages and 200 synthetic documents;
 * micromark's time on them fell by a quarter to a third.
 */
export function micromarkOptions(src: string) {
  const extensions = [
    ...(autolinkNeedsTokenizer(src) ? [gfmAutolinkLiteral()] : []),
    gfmFootnote(),
    gfmStrikethrough(),
    ...(src.includes('|') ? [gfmTable()] : []),
    gfmTaskListItem(),
  ];
  return { extensions, mdastExtensions: [gfmFromMarkdown()] };
}

function parseTree(src: string, maxDepth: number): Root {
  const root = fromMarkdown(src, micromarkOptions(src));
  checkTreeDepth(root, maxDepth);
  return root;
}

/**
 * Phase 2: parse the segments between `bounds` (offsets in `body`: the range's start, the cuts inside it,
 * its end) one by one. A piece whose tail is still inside a fenced code or HTML block (the cut was wrong)
 * is merged with the next one; `tailOpen` says the range's last piece ended so, which matters only when
 * another range follows it (ParsePool then parses the whole body in one range instead). Ranges are
 * independent, so two threads can parse the two halves of a big document at once.
 */
export function renderPieces(body: string, bounds: readonly number[], maxDepth: number): { pieces: RenderedPiece[]; tailOpen: boolean } {
  const pieces: RenderedPiece[] = [];
  let tailOpen = false;
  let i = 0;
  while (i < bounds.length - 1) {
    let j = i + 1;
    let src = body.slice(bounds[i], bounds[j]);
    let root = parseTree(src, maxDepth);
    tailOpen = tailIsOpen(root, src);
    while (j < bounds.length - 1 && tailOpen) {
      j++;
      src = body.slice(bounds[i], bounds[j]);
      root = parseTree(src, maxDepth);
      tailOpen = tailIsOpen(root, src);
    }
    pieces.push({ start: bounds[i]!, end: bounds[j]!, render: renderRoot(root, 0) });
    i = j;
  }
  return { pieces, tailOpen };
}

/**
 * Link reference and footnote definitions are global in Markdown, so a piece that may hold a reference to
 * a definition in another piece (some text node still shows `]`) is parsed again with those definitions
 * prepended; the prepended blocks are dropped.
 */
function resolveAcrossPieces(body: string, pieces: readonly RenderedPiece[], maxDepth: number): RenderedSegment[] {
  if (pieces.length === 1) return [pieces[0]!.render];

  const defs = new Map<string, DefinitionInfo>();
  const notes = new Map<string, string>();
  for (const p of pieces) {
    for (const d of p.render.definitions) if (!defs.has(d.identifier)) defs.set(d.identifier, d);
    for (const f of p.render.footnotes) if (!notes.has(f.identifier)) notes.set(f.identifier, f.label);
  }
  if (defs.size === 0 && notes.size === 0) return pieces.map((p) => p.render);

  return pieces.map((p) => {
    if (!p.render.unresolvedBrackets) return p.render;
    const localDefs = new Set(p.render.definitions.map((d) => d.identifier));
    const localNotes = new Set(p.render.footnotes.map((f) => f.identifier));
    const prefix = definitionPrefix(
      [...defs.values()].filter((d) => !localDefs.has(d.identifier)),
      [...notes.entries()].filter(([id]) => !localNotes.has(id)).map(([, label]) => label),
    );
    if (prefix === '') return p.render;
    const root = parseTree(prefix + body.slice(p.start, p.end), maxDepth);
    return renderRoot(root, prefix.length);
  });
}

const escapeDest = (s: string): string => s.replace(/[\\<>&\n]/g, (c) => (c === '\n' ? ' ' : '\\' + c));
const escapeTitle = (s: string): string => s.replace(/[\\"&]/g, (c) => '\\' + c);

function definitionPrefix(defs: readonly DefinitionInfo[], footnoteLabels: readonly string[]): string {
  let out = '';
  for (const d of defs) {
    out += `[${d.label}]: <${escapeDest(d.url)}>${d.title === null ? '' : ` "${escapeTitle(d.title)}"`}\n`;
  }
  if (out !== '') out += '\n';
  for (const label of footnoteLabels) out += `[^${label}]: -\n\n`;
  return out === '' ? '' : out + '\n';
}

/** True when the last block chain ends in an unclosed fenced code block, or an HTML block not ended by a blank line. */
function tailIsOpen(root: Root, src: string): boolean {
  let node: Nodes | undefined = root;
  while (node && 'children' in node && node.children.length > 0) {
    node = node.children[node.children.length - 1] as Nodes;
    if (node.type === 'code') {
      const start = node.position?.start.offset ?? 0;
      const end = node.position?.end.offset ?? src.length;
      return !fencedCodeClosed(src.slice(start, end));
    }
    if (node.type === 'html') return !/\n[ \t]*\n[ \t\n]*$/.test(src);
  }
  return false;
}

function fencedCodeClosed(slice: string): boolean {
  const open = /^[ \t]*(`{3,}|~{3,})/.exec(slice);
  if (!open) return true; // indented code: ended by the heading that follows
  const lines = slice.split('\n');
  if (lines.length < 2) return false;
  const last = lines[lines.length - 1]!.replace(/^[ \t>]*/, '').trimEnd();
  return last.length >= open[1]!.length && [...last].every((c) => c === open[1]![0]);
}

/** File name from the URI, without a Markdown/HTML extension; the last resort for a title. */
export function titleFromUri(uri: string): string {
  let path = uri;
  if (/^https?:/i.test(uri)) {
    path = uri.replace(/[?#].*$/s, '');
    try {
      path = decodeURIComponent(path);
    } catch {
      /* keep as is */
    }
  }
  const name = path.split('/').filter((s) => s !== '').pop() ?? path;
  const bare = name.replace(/\.(?:md|markdown|mdx|mdown|mkd|html?)$/i, '');
  return bare === '' ? name : bare;
}
