import { ErrorCode, PermanentError } from './shared.js';
import { fenceCloses, fenceOpen, type FenceState } from './text-util.js';

/**
 * Per-document limits that keep one hostile document from costing the stores (reliability B12, B24).
 *
 * Sections: every section is a graph node, an embedding and a vector point, so a document of 50,000
 * `# h` lines would cost 50,000 of each (and ~15 s of parsing). A document with more than `maxSections`
 * sections fails with TOO_MANY_SECTIONS: first by a pre-scan over column-0 ATX headings outside fenced
 * code (each of those is a top-level heading, so the count never overstates), so the common case is
 * refused before micromark runs; then exactly, in buildSections, for setext headings and parts.
 */
export function prescanSections(body: string, maxSections: number): void {
  if (maxSections === Infinity || body.length < maxSections * 2) return;
  let fence: FenceState | null = null;
  let count = 0;
  let pos = 0;
  while (pos < body.length) {
    const nl = body.indexOf('\n', pos);
    const end = nl === -1 ? body.length : nl;
    const c = body.charCodeAt(pos);
    if (fence) {
      if (fenceCloses(body.slice(pos, Math.min(end, pos + 200)), fence)) fence = null;
    } else if (c === 35 /* # */) {
      let n = 1;
      while (n < 7 && body.charCodeAt(pos + n) === 35) n++;
      const after = body.charCodeAt(pos + n);
      if (n <= 6 && (pos + n >= end || after === 32 || after === 9)) count++;
      if (count > maxSections) throw tooManySections(maxSections);
    } else if (c === 96 /* ` */ || c === 126 /* ~ */ || c === 32) {
      fence = fenceOpen(body.slice(pos, end));
    }
    if (nl === -1) break;
    pos = nl + 1;
  }
}

export const tooManySections = (maxSections: number): PermanentError =>
  new PermanentError(ErrorCode.TooManySections, `more than ${maxSections} sections in one document`);

/** data: URIs whose payload is at least this long are cut (a real inline icon is far larger than 256 chars). */
export const MAX_DATA_URI_PAYLOAD = 256;

// data:[<type>/<subtype>][;param=value]*[;base64],<payload>; the pieces are separated by distinct
// characters, so matching is linear. The payload alphabet covers base64, base64url and percent-encoding.
const DATA_URI = /\bdata:((?:[\w.+-]+\/[\w.+-]+)?(?:;[\w.+-]+=[\w.+%-]*)*(?:;base64)?),([A-Za-z0-9+/=%_-]{256,})/gi;

/**
 * Inline `data:` URIs (base64 images pasted into Markdown) carry no text a reader searches for, and a
 * 2 MB one would become 2 MB of section text, embedding input and link target. Each payload of
 * MAX_DATA_URI_PAYLOAD characters or more is replaced by a marker without spaces or brackets (so an
 * image or link around it still parses as one), before parsing, chunking and embedding.
 */
export function stripDataUris(body: string): string {
  if (!/data:/i.test(body)) return body;
  return body.replace(DATA_URI, (_m, head: string, payload: string) => `data:${head},omitted-${payload.length}-chars`);
}
