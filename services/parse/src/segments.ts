import { fenceCloses, fenceOpen, leadingIndent, type FenceState } from './text-util.js';

/**
 * Segmenting (DESIGN §5 parse): a large body is cut into pieces of at most `segmentBytes` UTF-8 bytes, each
 * cut placed just before an ATX heading line that is outside fenced code and HTML blocks. An ATX heading
 * at the left margin closes every open container (lists, blockquotes, paragraphs, tables), so parsing the
 * pieces one by one gives the same top-level blocks as parsing the whole. (parse-markdown.ts also checks
 * each piece's tail and merges two pieces when a cut lands inside an unclosed fence or HTML block, and
 * carries link reference definitions and the heading stack across pieces.) A stretch without a usable
 * heading stays one (larger) piece.
 *
 * Returns the start offsets of the pieces after the first, in increasing order.
 */
export function segmentCuts(body: string, segmentBytes: number): number[] {
  if (!Number.isFinite(segmentBytes) || body.length <= segmentBytes / 3) return [];
  if (Buffer.byteLength(body, 'utf8') <= segmentBytes) return [];

  const candidates: { offset: number; bytes: number }[] = [];
  let fence: FenceState | null = null;
  let html: HtmlState | null = null;
  let bytes = 0;
  let pos = 0;
  while (pos < body.length) {
    const nl = body.indexOf('\n', pos);
    const end = nl === -1 ? body.length : nl;
    const line = body.slice(pos, end);
    if (fence) {
      if (fenceCloses(line, fence)) fence = null;
    } else if (html) {
      if (html.endsAt(line)) html = null;
    } else {
      if (pos > 0 && isAtxHeading(line)) candidates.push({ offset: pos, bytes });
      fence = fenceOpen(line);
      if (!fence) {
        html = htmlStart(line);
        if (html && html.endsOnSameLine) html = null;
      }
    }
    bytes += Buffer.byteLength(line, 'utf8') + (nl === -1 ? 0 : 1);
    if (nl === -1) break;
    pos = nl + 1;
  }

  const cuts: number[] = [];
  let segStart = 0;
  let lastGood: { offset: number; bytes: number } | null = null;
  for (const c of candidates) {
    if (c.bytes - segStart <= segmentBytes) {
      lastGood = c;
      continue;
    }
    if (lastGood) {
      cuts.push(lastGood.offset);
      segStart = lastGood.bytes;
      lastGood = null;
      if (c.bytes - segStart <= segmentBytes) {
        lastGood = c;
        continue;
      }
    }
    // No heading inside this stretch fits: it becomes one oversized piece ending before c.
    cuts.push(c.offset);
    segStart = c.bytes;
  }
  if (lastGood && bytes - segStart > segmentBytes) cuts.push(lastGood.offset);
  return cuts;
}

export function isAtxHeading(line: string): boolean {
  const { columns, index } = leadingIndent(line);
  if (columns > 3) return false;
  let j = index;
  while (line[j] === '#') j++;
  const level = j - index;
  if (level < 1 || level > 6) return false;
  return j === line.length || line[j] === ' ' || line[j] === '\t';
}

interface HtmlState {
  readonly endsOnSameLine: boolean;
  endsAt(line: string): boolean;
}

const RAW_TAGS = /^<(?:script|pre|style|textarea)(?:[\s>]|$)/i;

/** CommonMark HTML block starts (types 1–7, type 7 treated like 6: conservative). */
function htmlStart(line: string): HtmlState | null {
  const { columns, index } = leadingIndent(line);
  if (columns > 3 || line[index] !== '<') return null;
  const rest = line.slice(index);
  const until = (marker: string | RegExp): HtmlState => {
    const test = (l: string): boolean => (typeof marker === 'string' ? l.includes(marker) : marker.test(l));
    return { endsOnSameLine: test(rest.slice(1)), endsAt: test };
  };
  if (RAW_TAGS.test(rest)) return until(/<\/(?:script|pre|style|textarea)>/i);
  if (rest.startsWith('<!--')) return { endsOnSameLine: rest.includes('-->', 4), endsAt: (l) => l.includes('-->') };
  if (rest.startsWith('<?')) return { endsOnSameLine: rest.includes('?>', 2), endsAt: (l) => l.includes('?>') };
  if (rest.startsWith('<![CDATA[')) return { endsOnSameLine: rest.includes(']]>', 9), endsAt: (l) => l.includes(']]>') };
  if (/^<![A-Za-z]/.test(rest)) return { endsOnSameLine: rest.includes('>', 2), endsAt: (l) => l.includes('>') };
  if (/^<\/?[A-Za-z]/.test(rest)) return { endsOnSameLine: false, endsAt: (l) => l.trim() === '' };
  return null;
}
