import type { Nodes, PhrasingContent, Root, RootContent, List, Table } from 'mdast';
import { fenceFor, stripHtmlTags, tidyLines } from './text-util.js';

/**
 * mdast → compact blocks. Each top-level node becomes a heading block or a content block of plain text,
 * and the tree is dropped right after, so a large document never holds more than one segment's tree.
 *
 * Plain-text conventions (what `SectionRecord.text` looks like, and what extract reads back):
 *  - paragraphs: their text; emphasis/strong/strike/link markup dropped (link text kept, link
 *    destinations go to `links`); images give their alt text; inline HTML tags dropped;
 *    inline code keeps its backticks (so it stays recognisable as code).
 *  - lists: one line per item, `- ` or `N. ` (numbered from the list's start), task items `[x] ` / `[ ] `;
 *    an item's further blocks and nested lists follow on lines indented by the marker width.
 *  - tables: one `cell | cell` line per row, header row first; a `|` inside a cell is written `\|`.
 *  - code blocks: fenced with backticks and their language (```lang … ```), content verbatim.
 *  - blockquotes: their blocks, without `>` markers.  HTML blocks: tags and comments stripped.
 *  - footnote definitions: `[^label]: text`.  Definitions, thematic breaks: nothing.
 * Blocks are separated by one blank line.
 */

export type LinkRef = { readonly url: string } | { readonly ref: string };

export interface HeadingBlock {
  readonly kind: 'heading';
  readonly depth: number;
  /** Plain title (inline code without backticks), whitespace collapsed, `{#id}` removed. */
  readonly title: string;
  /** The heading as a text line (inline code with backticks). */
  readonly line: string;
  /** Explicit anchor from a trailing `{#id}` (Hugo, MkDocs, Docusaurus), else null. */
  readonly customAnchor: string | null;
  readonly links: LinkRef[];
}

export interface ContentBlock {
  readonly kind: 'content';
  readonly text: string;
  readonly links: LinkRef[];
  /** Set for fenced/indented code, so an oversized block can be split inside its fence. */
  readonly code?: { readonly lang: string; readonly value: string };
}

export type Block = HeadingBlock | ContentBlock;

export interface DefinitionInfo {
  readonly identifier: string;
  readonly label: string;
  readonly url: string;
  readonly title: string | null;
}

export interface RenderedSegment {
  readonly blocks: Block[];
  readonly definitions: DefinitionInfo[];
  readonly footnotes: { identifier: string; label: string }[];
  /** Some text node holds `]`: a reference whose definition lives in another segment may be hiding. */
  readonly unresolvedBrackets: boolean;
}

interface Ctx {
  links: LinkRef[];
  definitions: DefinitionInfo[];
  footnotes: { identifier: string; label: string }[];
  brackets: boolean;
}

/** Render the root's children that start at or after `minOffset` (earlier ones are a carried-over prefix). */
export function renderRoot(root: Root, minOffset: number): RenderedSegment {
  const ctx: Ctx = { links: [], definitions: [], footnotes: [], brackets: false };
  const blocks: Block[] = [];
  for (const node of root.children) {
    if ((node.position?.start.offset ?? 0) < minOffset) continue;
    ctx.links = [];
    if (node.type === 'heading') {
      const plain = collapse(plainText(node.children));
      const line = collapse(inline(node.children, ctx));
      const custom = /\s*\{#([^\s{}]+)\}$/.exec(plain);
      blocks.push({
        kind: 'heading',
        depth: node.depth,
        title: custom ? plain.slice(0, custom.index).trim() : plain,
        line: custom ? line.replace(/\s*\{#[^\s{}]+\}$/, '') : line,
        customAnchor: custom ? custom[1]! : null,
        links: ctx.links,
      });
      continue;
    }
    const text = block(node, ctx);
    if (text === null || text.trim() === '') continue;
    const code =
      node.type === 'code' ? { lang: codeLang(node.lang), value: node.value } : undefined;
    blocks.push(code ? { kind: 'content', text, links: ctx.links, code } : { kind: 'content', text, links: ctx.links });
  }
  return { blocks, definitions: ctx.definitions, footnotes: ctx.footnotes, unresolvedBrackets: ctx.brackets };
}

const collapse = (s: string): string => s.replace(/\s+/g, ' ').trim();

function codeLang(lang: string | null | undefined): string {
  return (lang ?? '').trim().split(/\s+/)[0] ?? '';
}

export function renderCode(lang: string, value: string): string {
  const fence = fenceFor(value);
  return value === '' ? `${fence}${lang}\n${fence}` : `${fence}${lang}\n${value}\n${fence}`;
}

function block(node: RootContent, ctx: Ctx): string | null {
  switch (node.type) {
    case 'paragraph':
    case 'heading':
      return inline(node.children, ctx);
    case 'code':
      return renderCode(codeLang(node.lang), node.value);
    case 'list':
      return list(node, ctx);
    case 'blockquote':
      return blocks(node.children, ctx, '\n\n');
    case 'table':
      return table(node, ctx);
    case 'html': {
      const t = tidyLines(stripHtmlTags(node.value));
      return t === '' ? null : t;
    }
    case 'definition':
      ctx.definitions.push({ identifier: node.identifier, label: node.label ?? node.identifier, url: node.url, title: node.title ?? null });
      return null;
    case 'footnoteDefinition': {
      ctx.footnotes.push({ identifier: node.identifier, label: node.label ?? node.identifier });
      const body = blocks(node.children, ctx, '\n');
      return `[^${node.label ?? node.identifier}]: ${indentRest(body ?? '', 2)}`;
    }
    case 'thematicBreak':
    case 'yaml':
      return null;
    default: {
      const n = node as Nodes;
      if ('children' in n) return blocks(n.children as RootContent[], ctx, '\n\n');
      if ('value' in n && typeof n.value === 'string') return n.value;
      return null;
    }
  }
}

function blocks(children: readonly RootContent[], ctx: Ctx, sep: string): string | null {
  const parts: string[] = [];
  for (const child of children) {
    const t = block(child, ctx);
    if (t !== null && t.trim() !== '') parts.push(t);
  }
  return parts.length === 0 ? null : parts.join(sep);
}

function indentRest(text: string, width: number): string {
  if (!text.includes('\n')) return text;
  const pad = ' '.repeat(width);
  return text
    .split('\n')
    .map((l, i) => (i === 0 || l === '' ? l : pad + l))
    .join('\n');
}

function list(node: List, ctx: Ctx): string {
  const start = node.start ?? 1;
  const lines: string[] = [];
  node.children.forEach((item, i) => {
    const marker = node.ordered ? `${start + i}. ` : '- ';
    const check = item.checked === true ? '[x] ' : item.checked === false ? '[ ] ' : '';
    const body = blocks(item.children, ctx, '\n');
    lines.push(body === null ? (marker + check).trimEnd() : marker + check + indentRest(body, marker.length));
  });
  return lines.join('\n');
}

function table(node: Table, ctx: Ctx): string {
  return node.children
    .map((row) =>
      row.children.map((cell) => collapse(inline(cell.children, ctx)).replace(/\|/g, '\\|')).join(' | '),
    )
    .join('\n');
}

function inline(nodes: readonly PhrasingContent[], ctx: Ctx): string {
  let out = '';
  for (const node of nodes) {
    switch (node.type) {
      case 'text':
        if (!ctx.brackets && node.value.includes(']')) ctx.brackets = true;
        out += node.value;
        break;
      case 'inlineCode':
        out += codeSpan(node.value);
        break;
      case 'break':
        out += '\n';
        break;
      case 'html':
        break;
      case 'image':
      case 'imageReference':
        out += node.alt ?? '';
        break;
      case 'footnoteReference':
        out += `[^${node.label ?? node.identifier}]`;
        break;
      case 'link':
        ctx.links.push({ url: node.url });
        out += inline(node.children, ctx);
        break;
      case 'linkReference':
        ctx.links.push({ ref: node.identifier });
        out += inline(node.children, ctx);
        break;
      default: {
        const n = node as Nodes;
        if ('children' in n) out += inline(n.children as PhrasingContent[], ctx);
        else if ('value' in n && typeof n.value === 'string') out += n.value;
      }
    }
  }
  return out;
}

function codeSpan(value: string): string {
  let longest = 0;
  let run = 0;
  for (const ch of value) {
    run = ch === '`' ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  const ticks = '`'.repeat(longest + 1);
  const pad = value.startsWith('`') || value.endsWith('`') ? ' ' : '';
  return ticks + pad + value + pad + ticks;
}

/** Plain text of phrasing content: what a reader sees, without code backticks or HTML tags. */
export function plainText(nodes: readonly PhrasingContent[]): string {
  let out = '';
  for (const node of nodes) {
    switch (node.type) {
      case 'text':
      case 'inlineCode':
        out += node.value;
        break;
      case 'break':
        out += ' ';
        break;
      case 'image':
      case 'imageReference':
        out += node.alt ?? '';
        break;
      case 'html':
      case 'footnoteReference':
        break;
      default: {
        const n = node as Nodes;
        if ('children' in n) out += plainText(n.children as PhrasingContent[]);
      }
    }
  }
  return out;
}
