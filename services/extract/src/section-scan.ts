/**
 * Reads back the plain-text conventions of @ingest/parse (see services/parse/src/render.ts): fenced code
 * blocks with their language, `- ` / `N. ` list lines, `cell | cell` table rows (a `|` inside a cell
 * written `\|`), inline code in backticks, blocks separated by blank lines.
 */

export interface CodeBlock {
  readonly lang: string;
  /** Content lines with the fence's own indentation removed. */
  readonly lines: readonly string[];
}

export interface ScannedSection {
  readonly code: CodeBlock[];
  /** Lines outside code blocks, in order, grouped into blank-line separated blocks. */
  readonly blocks: string[][];
}

const leading = (l: string): number => l.length - l.trimStart().length;

export function scanSection(text: string): ScannedSection {
  const lines = text.split('\n');
  const code: CodeBlock[] = [];
  const blocks: string[][] = [];
  let cur: string[] = [];
  const endBlock = (): void => {
    if (cur.length > 0) blocks.push(cur);
    cur = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = /^(\s*)(`{3,}|~{3,})([^`]*)$/.exec(line);
    if (open) {
      const indent = open[1]!.length;
      const fence = open[2]!;
      const lang = (open[3] ?? '').trim().split(/\s+/)[0]!.toLowerCase();
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const l = lines[j]!;
        const t = l.trim();
        if (t.length >= fence.length && t[0] === fence[0] && [...t].every((c) => c === fence[0])) break;
        body.push(leading(l) >= indent ? l.slice(indent) : l.trimStart());
      }
      code.push({ lang, lines: body });
      endBlock();
      i = j;
      continue;
    }
    if (line.trim() === '') endBlock();
    else cur.push(line);
  }
  endBlock();
  return { code, blocks };
}

/** Inline code spans of one line (outside fenced code): their contents, trimmed of one padding space. */
export function codeSpans(line: string): string[] {
  const out: string[] = [];
  let i = line.indexOf('`');
  while (i !== -1) {
    let j = i;
    while (line[j] === '`') j++;
    const run = j - i;
    let k = line.indexOf('`', j);
    let close = -1;
    while (k !== -1) {
      let m = k;
      while (line[m] === '`') m++;
      if (m - k === run) {
        close = k;
        break;
      }
      k = line.indexOf('`', m);
    }
    if (close === -1) {
      i = line.indexOf('`', j);
      continue;
    }
    let content = line.slice(j, close);
    if (content.length >= 2 && content.startsWith(' ') && content.endsWith(' ') && content.trim() !== '') {
      content = content.slice(1, -1);
    }
    out.push(content);
    i = line.indexOf('`', close + run);
  }
  return out;
}

/** Cells of a `cell | cell` row (unescaping `\|`), or null when the line has no separator. */
export function tableCells(line: string): string[] | null {
  if (!line.includes(' | ') && !line.endsWith(' |') && !line.startsWith('| ')) return null;
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && line[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (c === '|' && (i === 0 || line[i - 1] === ' ') && (i === line.length - 1 || line[i + 1] === ' ')) {
      cells.push(cell.trim());
      cell = '';
      if (line[i + 1] === ' ') i++;
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells.length >= 2 ? cells : null;
}

/** Shell-style words of a command line, quote-aware; `segments` splits at unquoted ; && || |. */
export function shellSegments(line: string): string[][] {
  const segments: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endSegment = (): void => {
    endWord();
    if (words.length > 0) segments.push(words);
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      // Quoted text is kept with its quotes so `"FOO=1"` is not taken for an assignment.
      quote = c;
      inWord = true;
      word += '\u0000';
      continue;
    }
    if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      continue;
    }
    if (c === ';' || c === '|' || (c === '&' && line[i + 1] === '&')) {
      if ((c === '|' || c === '&') && line[i + 1] === c) i++;
      endSegment();
      continue;
    }
    if (c === '#' && !inWord) break; // comment
    word += c;
    inWord = true;
  }
  endSegment();
  return segments;
}
