/** Small string helpers shared by the parse passes. All linear-time (no backtracking regexes on input). */

/** Tokens ≈ whitespace-separated words. */
export function countTokens(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xa0;
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      n++;
    }
  }
  return n;
}

/** Columns of leading whitespace (tab → next multiple of 4) and the index of the first other character. */
export function leadingIndent(line: string): { columns: number; index: number } {
  let columns = 0;
  let i = 0;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32) columns++;
    else if (c === 9) columns += 4 - (columns % 4);
    else break;
  }
  return { columns, index: i };
}

export interface FenceState {
  readonly char: '`' | '~';
  readonly length: number;
}

/**
 * A fenced-code opener at any indentation (lenient on purpose: used to keep markup stripping and
 * segment cuts out of code, where being over-cautious only costs a missed rewrite or a larger segment).
 */
export function fenceOpen(line: string): FenceState | null {
  const { index } = leadingIndent(line);
  const ch = line[index];
  if (ch !== '`' && ch !== '~') return null;
  let j = index;
  while (line[j] === ch) j++;
  const length = j - index;
  if (length < 3) return null;
  // A backtick fence's info string may not contain backticks.
  if (ch === '`' && line.indexOf('`', j) !== -1) return null;
  return { char: ch, length };
}

export function fenceCloses(line: string, fence: FenceState): boolean {
  const { index } = leadingIndent(line);
  let j = index;
  while (line[j] === fence.char) j++;
  if (j - index < fence.length) return false;
  for (; j < line.length; j++) {
    const c = line[j];
    if (c !== ' ' && c !== '\t') return false;
  }
  return true;
}

/** A backtick fence long enough to wrap `content` (which may contain backtick runs). */
export function fenceFor(content: string): string {
  let longest = 0;
  let run = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === '`') {
      run++;
      if (run > longest) longest = run;
    } else run = 0;
  }
  return '`'.repeat(Math.max(3, longest + 1));
}

/** Truncate to at most `max` code points, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cps = Array.from(text);
  if (cps.length <= max) return text;
  return cps.slice(0, max - 1).join('').trimEnd() + '…';
}

/** Remove HTML tags from a string without regexes (so `<<<<…` cannot cause quadratic backtracking). */
export function stripHtmlTags(html: string): string {
  let out = '';
  let i = 0;
  while (i < html.length) {
    if (html.startsWith('<!--', i)) {
      const end = html.indexOf('-->', i + 4);
      if (end === -1) break;
      i = end + 3;
      continue;
    }
    const c = html[i];
    if (c === '<') {
      const n = html[i + 1];
      const tagLike = n !== undefined && (/[A-Za-z/!?]/.test(n));
      if (tagLike) {
        const end = html.indexOf('>', i + 1);
        if (end === -1) {
          out += html.slice(i);
          break;
        }
        i = end + 1;
        out += ' ';
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

/** Collapse runs of spaces/tabs inside lines, drop blank lines at the ends. */
export function tidyLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/[ \t]+/g, ' ').trim())
    .filter((l, i, all) => l !== '' || (i > 0 && all[i - 1] !== ''))
    .join('\n')
    .trim();
}
