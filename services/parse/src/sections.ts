import GithubSlugger from 'github-slugger';
import { renderCode, type Block, type ContentBlock, type LinkRef } from './render.js';
import { sectionId, sectionPartId, sha256Hex, type SectionRecord } from './shared.js';
import { tooManySections } from './limits.js';
import { countTokens } from './text-util.js';
import type { ParsedLink, ResolvedParseOptions } from './types.js';

/**
 * Blocks → sections (DESIGN §4 ids, §5 parse).
 *  - A heading (levels 1–6, top level of the document) starts a section; its text is the heading line
 *    followed by the section's own blocks up to the next heading of any level (subsections excluded).
 *  - headingPath: titles of the enclosing headings (nearest lower level, recursively) plus this one;
 *    parentId: the nearest enclosing heading's section (its first part when it was split).
 *  - anchor: github-slugger over the plain title, one slugger per document (duplicates get -1, -2, …);
 *    an explicit trailing `{#id}` wins.
 *  - Blocks before the first heading form a preamble (level 0, headingPath [], anchor '', title = the
 *    document title) when they hold any non-whitespace text.
 *  - id = sectionId(docId, headingPath, number of earlier sections with the same headingPath).
 *  - Over maxSectionTokens: split greedily at block boundaries into parts; part k (0-based) gets
 *    sectionPartId(id, k), the same headingPath/anchor/level/parent, title + ` (part k+1)`, and its text
 *    starts with the heading line too. A single block over the cap is split at line boundaries (code
 *    blocks keep their fence in every piece); a single line over the cap stays whole.
 *  - ordinal: position in document order over the emitted records (parts included).
 */
export function buildSections(
  blocks: readonly Block[],
  resolveLink: (ref: LinkRef) => string | null,
  documentTitle: string,
  opts: ResolvedParseOptions,
): { sections: SectionRecord[]; links: ParsedLink[] } {
  const sections: SectionRecord[] = [];
  const links: ParsedLink[] = [];
  const slugger = new GithubSlugger();
  const siblingCounts = new Map<string, number>();

  interface Open {
    level: number;
    title: string;
    headingPath: string[];
    anchor: string;
    parentId: string | null;
    line: string | null;
    headLinks: LinkRef[];
    blocks: ContentBlock[];
    /** The id children point at (first part when split); set when flushed. */
    effectiveId: string | null;
  }
  const stack: Open[] = [];
  let current: Open = {
    level: 0,
    title: documentTitle,
    headingPath: [],
    anchor: '',
    parentId: null,
    line: null,
    headLinks: [],
    blocks: [],
    effectiveId: null,
  };

  const flush = (s: Open): void => {
    if (s.level === 0 && !s.blocks.some((b) => b.text.trim() !== '')) return;
    const key = JSON.stringify(s.headingPath);
    const sibling = siblingCounts.get(key) ?? 0;
    siblingCounts.set(key, sibling + 1);
    const baseId = sectionId(opts.documentId, s.headingPath, sibling);
    const parts = splitParts(s.line, s.headLinks, s.blocks, opts.maxSectionTokens);
    if (sections.length + parts.length > opts.maxSections) throw tooManySections(opts.maxSections);
    parts.forEach((part, k) => {
      const id = parts.length === 1 ? baseId : sectionPartId(baseId, k);
      if (k === 0) s.effectiveId = id;
      const text = [...(s.line === null ? [] : [s.line]), ...part.texts].join('\n\n');
      sections.push({
        id,
        documentId: opts.documentId,
        ordinal: sections.length,
        level: s.level,
        title: parts.length === 1 ? s.title : `${s.title} (part ${k + 1})`,
        headingPath: s.headingPath,
        anchor: s.anchor,
        text,
        tokenCount: countTokens(text),
        contentHash: sha256Hex(text),
        parentId: s.parentId,
      });
      for (const ref of part.links) {
        const url = resolveLink(ref);
        if (url !== null) links.push({ sectionId: id, url });
      }
    });
  };

  for (const b of blocks) {
    if (b.kind === 'content') {
      current.blocks.push(b);
      continue;
    }
    flush(current);
    while (stack.length > 0 && stack[stack.length - 1]!.level >= b.depth) stack.pop();
    const parent = stack[stack.length - 1] ?? null;
    current = {
      level: b.depth,
      title: b.title,
      headingPath: [...(parent?.headingPath ?? []), b.title],
      anchor: b.customAnchor ?? slugger.slug(b.title),
      parentId: parent?.effectiveId ?? null,
      line: b.line,
      headLinks: b.links,
      blocks: [],
      effectiveId: null,
    };
    stack.push(current);
  }
  flush(current);
  return { sections, links };
}

interface Piece {
  readonly text: string;
  readonly tokens: number;
  readonly links: readonly LinkRef[];
}

interface Part {
  texts: string[];
  links: LinkRef[];
  tokens: number;
}

function splitParts(line: string | null, headLinks: LinkRef[], blocks: readonly ContentBlock[], cap: number): Part[] {
  const headTokens = line === null ? 0 : countTokens(line);
  const pieces: Piece[] = [];
  let total = headTokens;
  for (const b of blocks) {
    const tokens = countTokens(b.text);
    total += tokens;
    pieces.push({ text: b.text, tokens, links: b.links });
  }
  if (total <= cap) {
    return [{ texts: pieces.map((p) => p.text), links: [...headLinks, ...pieces.flatMap((p) => p.links)], tokens: total }];
  }
  const budget = Math.max(1, cap - headTokens);
  const fine: Piece[] = [];
  blocks.forEach((b, i) => {
    const p = pieces[i]!;
    if (p.tokens <= budget) fine.push(p);
    else fine.push(...splitBlock(b, budget));
  });
  const parts: Part[] = [];
  let cur: Part = { texts: [], links: [...headLinks], tokens: headTokens };
  for (const p of fine) {
    if (cur.texts.length > 0 && cur.tokens + p.tokens > cap) {
      parts.push(cur);
      cur = { texts: [], links: [], tokens: headTokens };
    }
    cur.texts.push(p.text);
    cur.links.push(...p.links);
    cur.tokens += p.tokens;
  }
  parts.push(cur);
  return parts;
}

/** One oversized block → pieces at line boundaries; links go with the first piece. */
function splitBlock(b: ContentBlock, budget: number): Piece[] {
  const lines = b.code ? b.code.value.split('\n') : b.text.split('\n');
  const overhead = b.code ? countTokens(renderCode(b.code.lang, '')) : 0;
  const groups: string[][] = [];
  let cur: string[] = [];
  let tokens = overhead;
  for (const l of lines) {
    const t = countTokens(l);
    if (cur.length > 0 && tokens + t > budget) {
      groups.push(cur);
      cur = [];
      tokens = overhead;
    }
    cur.push(l);
    tokens += t;
  }
  groups.push(cur);
  const pieces: Piece[] = [];
  for (const g of groups) {
    const body = g.join('\n');
    if (!b.code && body.trim() === '') continue;
    const text = b.code ? renderCode(b.code.lang, body) : body.replace(/^\n+|\n+$/g, '');
    pieces.push({ text, tokens: countTokens(text), links: pieces.length === 0 ? b.links : [] });
  }
  return pieces;
}
