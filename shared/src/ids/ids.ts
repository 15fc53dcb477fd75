import { createHash } from 'node:crypto';
import path from 'node:path';
import { v5 as uuidv5 } from 'uuid';

/** Namespace of every id this system derives (a fixed random UUID; changing it re-keys every store). */
export const ID_NAMESPACE = '6f1c3a52-9b7e-4d1a-8c55-2f0e7d9b4a13';

const uuid = (...parts: readonly (string | number)[]): string => uuidv5(parts.join('\u241f'), ID_NAMESPACE);

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
