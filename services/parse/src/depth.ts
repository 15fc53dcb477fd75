import type { Nodes } from 'mdast';
import { ErrorCode, PermanentError } from './shared.js';
import { fenceCloses, fenceOpen, type FenceState } from './text-util.js';

/**
 * Nesting limits (DESIGN §5 parse, reliability B8/B9). Two checks:
 *  1. `prescanDepth` — before any tree is built, one pass over line prefixes: every `>` and list marker
 *     at the start of a line counts one level, and indentation before a list marker counts one level per
 *     two columns (the least a nested list item needs). A line above the limit fails with TOO_DEEP, so
 *     `"> ".repeat(50000)` or a 1,200-level indented list never reach micromark.
 *  2. `checkTreeDepth` — after parsing, an iterative walk: container nesting (blockquote + list item)
 *     above maxDepth, or any node deeper than 2·maxDepth + 16 (e.g. thousands of nested emphasis runs),
 *     fails with TOO_DEEP. Later passes may then recurse safely.
 */
export function prescanDepth(text: string, maxDepth: number): void {
  let fence: FenceState | null = null;
  let pos = 0;
  let lineNo = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    lineNo++;
    // Only the prefix matters; never copy a huge line.
    const prefix = text.slice(pos, Math.min(end, pos + 4 * maxDepth + 64));
    if (fence) {
      if (fenceCloses(prefix, fence)) fence = null;
    } else {
      // A fence's info string is checked in full (a backtick far along means it is not a fence).
      const t = prefix.trimStart();
      const opened = t.startsWith('```') || t.startsWith('~~~') ? fenceOpen(text.slice(pos, end)) : null;
      if (opened) fence = opened;
      else {
        const depth = lineDepth(text, pos, end, maxDepth);
        if (depth > maxDepth) {
          throw new PermanentError(ErrorCode.TooDeep, `nesting deeper than ${maxDepth} (line ${lineNo})`);
        }
      }
    }
    if (nl === -1) break;
    pos = nl + 1;
  }
}

function isMarkerChar(c: number): boolean {
  return c === 45 /* - */ || c === 42 /* * */ || c === 43; /* + */
}

function isSpaceOrEnd(text: string, i: number, end: number): boolean {
  if (i >= end) return true;
  const c = text.charCodeAt(i);
  return c === 32 || c === 9;
}

/** Estimated container depth of the line [start, end); stops counting once above `limit`. */
function lineDepth(text: string, start: number, end: number, limit: number): number {
  if (isThematicBreak(text, start, end)) return 0;
  let depth = 0;
  let columns = 0;
  let i = start;
  while (i < end && depth <= limit) {
    const c = text.charCodeAt(i);
    if (c === 32) {
      columns++;
      i++;
    } else if (c === 9) {
      columns += 4 - (columns % 4);
      i++;
    } else if (c === 62 /* > */) {
      depth++;
      columns = 0;
      i++;
    } else if (isMarkerChar(c) && isSpaceOrEnd(text, i + 1, end)) {
      depth += 1 + Math.floor(columns / 2);
      columns = 0;
      i++;
    } else if (c >= 48 && c <= 57) {
      let j = i;
      while (j < end && j - i < 10 && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      const d = text.charCodeAt(j);
      if ((d === 46 /* . */ || d === 41) /* ) */ && isSpaceOrEnd(text, j + 1, end)) {
        depth += 1 + Math.floor(columns / 2);
        columns = 0;
        i = j + 1;
      } else break;
    } else break;
  }
  return depth;
}

/** `***`, `- - -`, `___` … : a line of one marker character (3+) and blanks is a rule, not nesting. */
function isThematicBreak(text: string, start: number, end: number): boolean {
  let ch = -1;
  let count = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) continue;
    if (ch === -1 && (c === 45 || c === 42 || c === 95)) ch = c;
    if (c !== ch) return false;
    count++;
  }
  return count >= 3;
}

const CONTAINERS = new Set(['blockquote', 'listItem']);

export function checkTreeDepth(root: Nodes, maxDepth: number): void {
  const maxNodeDepth = 2 * maxDepth + 16;
  const stack: { node: Nodes; containers: number; depth: number }[] = [{ node: root, containers: 0, depth: 0 }];
  while (stack.length > 0) {
    const { node, containers, depth } = stack.pop()!;
    const c = CONTAINERS.has(node.type) ? containers + 1 : containers;
    if (c > maxDepth) {
      throw new PermanentError(ErrorCode.TooDeep, `blockquote/list nesting deeper than ${maxDepth}`);
    }
    if (depth > maxNodeDepth) {
      throw new PermanentError(ErrorCode.TooDeep, `markup nesting deeper than ${maxNodeDepth}`);
    }
    if ('children' in node) {
      for (const child of node.children) stack.push({ node: child as Nodes, containers: c, depth: depth + 1 });
    }
  }
}
