/**
 * Qdrant points and filters: the payload written for a section, payload → domain mapping, filters,
 * collection naming and client errors → the taxonomy. Pure functions; the store (qdrant-vector-store.ts)
 * owns the client and every request.
 */
import { QdrantClientResourceExhaustedError, QdrantClientTimeoutError, type Schemas } from '@qdrant/js-client-rest';
import type { VectorHit, VectorPoint } from '../../domain/model.js';
import { ErrorCode, PermanentError, PipelineError, RateLimitedError, RetryableError } from '../../errors/errors.js';
import type { StoredPoint } from '../../ports/vector-store.js';
import { fnv1a32 } from '../embedder/hash-embedder.js';

export const DENSE = 'dense';
export const SPARSE = 'text';
export const PAGE = 1000;
export const MAX_LIMIT = 10_000;
export const HIT_PAYLOAD = ['document_id', 'source_uri', 'tag', 'title', 'heading_path', 'text'];
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The largest finite float32; larger finite numbers would be stored as Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export type Filter = Schemas['Filter'];
export type Payload = Record<string, unknown>;

/** `<alias>__<slug>_<hash>`: readable, unique per version, within Qdrant's name rules. */
export function collectionName(alias: string, embeddingVersion: string): string {
  const slug = embeddingVersion.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'v';
  return `${alias}__${slug}_${fnv1a32(embeddingVersion).toString(36)}`;
}

export const match = (key: string, value: string | number): Schemas['FieldCondition'] => ({ key, match: { value } });
export const documentFilter = (documentId: string, extra: Filter['must'] = []): Filter => ({
  must: [match('document_id', documentId), ...(Array.isArray(extra) ? extra : extra ? [extra] : [])],
});
export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Maps a client error to the taxonomy of DESIGN §6. */
export function qdrantError(error: unknown, code: ErrorCode, what: string): PipelineError {
  if (error instanceof PipelineError) return error;
  const text = `qdrant ${what}: ${message(error).split('\n')[0]}`;
  if (error instanceof QdrantClientResourceExhaustedError) {
    return new RateLimitedError(Math.max(0, Math.ceil(error.retry_after * 1000)), text, { cause: error, code });
  }
  if (error instanceof QdrantClientTimeoutError) return new RetryableError(code, text, { cause: error });
  const status = Number(/Unexpected Response: (\d{3})/.exec(message(error))?.[1] ?? (error as { status?: unknown })?.status ?? NaN);
  if (status === 429) return new RateLimitedError(1000, text, { cause: error, code });
  if (status >= 400 && status < 500 && status !== 408 && status !== 409) return new PermanentError(code, text, { cause: error });
  return new RetryableError(code, text, { cause: error });
}

export function searchTextOf(p: VectorPoint): string {
  const path = p.headingPath.length > 0 ? p.headingPath.join(' / ') : p.title;
  return path ? `${path}\n${p.text}` : p.text;
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

export function toHit(point: { id: string | number; payload?: Payload | null; score: number }): VectorHit {
  const p = point.payload ?? {};
  return {
    id: String(point.id),
    documentId: String(p.document_id ?? ''),
    sourceUri: String(p.source_uri ?? ''),
    tag: String(p.tag ?? ''),
    title: String(p.title ?? ''),
    headingPath: stringList(p.heading_path),
    text: String(p.text ?? ''),
    score: point.score,
  };
}

export function storedPoint(point: { id: string | number; payload?: Payload | null }): StoredPoint {
  const p = point.payload ?? {};
  return {
    id: String(point.id),
    contentHash: String(p.content_hash ?? ''),
    generation: Number(p.generation ?? 0),
    embeddingVersion: String(p.embedding_version ?? ''),
  };
}

export type ScrolledPoint = { id: string | number; payload?: unknown; vector?: unknown };

/** A scrolled point (payload and dense vector) as the domain point it was written from. */
export function pointOf(point: ScrolledPoint): VectorPoint {
  const p = (point.payload ?? {}) as Payload;
  const named = (point.vector ?? {}) as Record<string, unknown>;
  return {
    id: String(point.id), documentId: String(p.document_id ?? ''), sourceUri: String(p.source_uri ?? ''), tag: String(p.tag ?? ''),
    title: String(p.title ?? ''), headingPath: stringList(p.heading_path), text: String(p.text ?? ''),
    contentHash: String(p.content_hash ?? ''), generation: Number(p.generation ?? 0), embeddingVersion: String(p.embedding_version ?? ''),
    vector: Array.isArray(named[DENSE]) ? (named[DENSE] as number[]).map(Number) : [],
  };
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function clampLimit(limit: number): number {
  if (!Number.isFinite(limit) || limit <= 0) return 0;
  return Math.min(Math.floor(limit), MAX_LIMIT);
}
