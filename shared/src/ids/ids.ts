import { createHash } from 'node:crypto';
import path from 'node:path';
import { v5 as uuidv5 } from 'uuid';

/** Namespace of every id this system derives (a fixed random UUID; changing it re-keys every store). */
export const ID_NAMESPACE = '6f1c3a52-9b7e-4d1a-8c55-2f0e7d9b4a13';

const uuid = (...parts: readonly (string | number)[]): string => uuidV5(parts.join('\u241f'));

const NAMESPACE_BYTES = Buffer.from(ID_NAMESPACE.replace(/-/g, ''), 'hex');
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * UUIDv5 (RFC 9562: SHA-1 over the namespace's bytes and the name's UTF-8, version and variant bits set)
 * in our namespace, the same ids as the `uuid` package's v5, which spent most of its time re-parsing the
 * namespace and encoding the name through encodeURIComponent (a third of the extract stage on the 3 MB
 * bench document: ~22,000 ids). Names with surrogates still go through the package, so a lone surrogate
 * fails as it always did, and a pair is encoded by the same rules.
 */
export function uuidV5(name: string): string {
  if (SURROGATE.test(name)) return uuidv5(name, ID_NAMESPACE);
  const b = createHash('sha1').update(NAMESPACE_BYTES).update(name, 'utf8').digest();
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return `${HEX[b[0]!]}${HEX[b[1]!]}${HEX[b[2]!]}${HEX[b[3]!]}-${HEX[b[4]!]}${HEX[b[5]!]}-${HEX[b[6]!]}${HEX[b[7]!]}-${HEX[b[8]!]}${HEX[b[9]!]}-${HEX[b[10]!]}${HEX[b[11]!]}${HEX[b[12]!]}${HEX[b[13]!]}${HEX[b[14]!]}${HEX[b[15]!]}`;
}

/** docId = UUIDv5 over tag + source_uri (DESIGN §4). */
export const documentId = (tag: string, sourceUri: string): string => uuid('doc', tag, sourceUri);

/** sectionId = UUIDv5 over docId + heading path + ordinal among siblings with that path. */
export const sectionId = (docId: string, headingPath: readonly string[], siblingOrdinal: number): string =>
  uuid('section', docId, JSON.stringify(headingPath), siblingOrdinal);

/** Part k of a section split at the token cap. */
export const sectionPartId = (baseSectionId: string, part: number): string => uuid('part', baseSectionId, part);

/** NFKC, zero-width characters removed, case-folded, inner whitespace collapsed. */
export function normaliseName(name: string): string {
  return name
    .normalize('NFKC')
    .replace(/[\u200B-\u200D\u2060\uFEFF]/g, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** Commands and parameters are shared across documents. */
export const globalEntityId = (kind: 'Command' | 'Parameter', name: string): string =>
  uuid('entity', kind, normaliseName(name));

/** Procedures and steps are scoped to their section, so each document's "Installation" stays its own. */
export const scopedEntityId = (sectionIdValue: string, kind: 'Procedure' | 'Step', nameOrOrder: string | number): string =>
  uuid('entity', sectionIdValue, kind, typeof nameOrOrder === 'string' ? normaliseName(nameOrOrder) : nameOrOrder);

/** job_id = <docId>-g<generation>; BullMQ forbids ':' and all-digit ids, this has neither. */
export const jobIdFor = (docId: string, generation: number): string => `${docId}-g${generation}`;

export function parseJobId(jobId: string): { documentId: string; generation: number } | null {
  const m = /^([0-9a-f-]{36})-g(\d+)$/.exec(jobId);
  return m ? { documentId: m[1]!, generation: Number(m[2]) } : null;
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** BOM stripped, CRLF/CR → LF: whitespace-only line-ending churn is no change (DESIGN §4). */
export const normaliseText = (text: string): string => text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');

export const checksumOf = (normalisedText: string): string => sha256Hex(normalisedText);

/** Canonical source URIs (DESIGN §4). */
export const sourceUri = {
  file: (absolutePath: string): string => `file://${path.resolve(absolutePath).replace(/\.ready$/, '')}`,
  s3: (bucket: string, key: string): string => `s3://${bucket}/${key}`,
  http: (url: string): string => {
    const u = new URL(url);
    u.search = '';
    u.hash = '';
    return u.toString();
  },
  /** `cli://<tag>/<path relative to base>`; paths outside base keep their `..` segments, normalised. */
  cli: (tag: string, filePath: string, baseDir: string): string => {
    const rel = path.relative(path.resolve(baseDir), path.resolve(filePath)).split(path.sep).join('/');
    return `cli://${tag}/${rel}`;
  },
};
