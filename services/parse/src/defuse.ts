import { fenceCloses, fenceOpen, type FenceState } from './text-util.js';

/**
 * Inline pathologies (reliability B10). micromark resolves emphasis, link brackets, inline HTML and code
 * spans in time quadratic in the delimiters of one inline run: 8,000 repetitions of `*a_ ` on one line
 * take ~5 s, `'[a](<b'.repeat(50000)` ~40 s, a backtick ladder of 2,000 runs ~50 s, and
 * `'*'.repeat(n) + 'a' + '*'.repeat(n)` builds n/2 nested nodes. Real prose never holds a thousand such
 * delimiters on one line, so such a line (outside fenced code) is fenced as a code block of its own: its
 * text survives verbatim, parsing stays linear, and the surrounding structure loses only that line.
 * Multi-line variants are left to the worker's time limit (PARSE_TIMEOUT).
 */
export const MAX_INLINE_DELIMITERS_PER_LINE = 1000;

const isDelimiter = (c: number): boolean =>
  c === 42 /* * */ || c === 95 /* _ */ || c === 91 /* [ */ || c === 93 /* ] */ || c === 60 /* < */ ||
  c === 96 /* ` */ || c === 126 /* ~ */ || c === 33; /* ! */

export function defuseInlinePathologies(body: string, limit = MAX_INLINE_DELIMITERS_PER_LINE): string {
  if (body.length < limit) return body;
  const lines = body.split('\n');
  let fence: FenceState | null = null;
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence) {
      if (fenceCloses(line, fence)) fence = null;
      continue;
    }
    fence = fenceOpen(line);
    if (fence || line.length < limit) continue;
    let count = 0;
    for (let j = 0; j < line.length && count <= limit; j++) if (isDelimiter(line.charCodeAt(j))) count++;
    if (count > limit) {
      const f = '~'.repeat(Math.max(3, longestRun(line, '~') + 1));
      lines[i] = `${f}\n${line}\n${f}`;
      changed = true;
    }
  }
  return changed ? lines.join('\n') : body;
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    run = s[i] === ch ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}
