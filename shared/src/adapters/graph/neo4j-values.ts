/**
 * What the Neo4j graph store says to and hears from the driver: the narrow driver interfaces it uses (a
 * fake implements them in unit tests), parameter and record value conversion, and driver errors → the
 * taxonomy of DESIGN §6, and the shaping of expand's rows. The store itself (neo4j-graph-store.ts) holds the writer and every statement.
 */
import neo4j, { Neo4jError, type BookmarkManager } from 'neo4j-driver';
import { isEntityKind, type SectionExpansion } from '../../domain/model.js';
import { ErrorCode, PermanentError, PipelineError, RetryableError } from '../../errors/errors.js';
import type { StoredSection } from '../../ports/graph-store.js';

export type Row = Record<string, unknown>;
export type Params = Record<string, unknown>;

/** The part of a neo4j-driver transaction the store uses (a fake in unit tests). */
export interface Neo4jTx {
  run(query: string, parameters?: Params): PromiseLike<{ records: { toObject(): Row }[] }>;
}
export interface Neo4jSession {
  executeRead<T>(work: (tx: Neo4jTx) => Promise<T>): Promise<T>;
  executeWrite<T>(work: (tx: Neo4jTx) => Promise<T>): Promise<T>;
  run(query: string, parameters?: Params): PromiseLike<{ records: { toObject(): Row }[] }>;
  close(): Promise<void>;
}
/** The part of a neo4j-driver Driver the store uses. */
export interface Neo4jDriver {
  session(config: { database?: string; bookmarkManager?: BookmarkManager }): Neo4jSession;
  verifyConnectivity(config?: { database?: string }): Promise<unknown>;
  close(): Promise<void>;
}

export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
export const toStoredSection = (r: Record<string, unknown>): StoredSection => ({
  id: str(r.id), documentId: str(r.documentId), ordinal: num(r.ordinal), level: num(r.level), title: str(r.title),
  headingPath: Array.isArray(r.headingPath) ? r.headingPath.map(str) : [], anchor: str(r.anchor),
  text: str(r.text), contentHash: str(r.contentHash), generation: num(r.generation),
});
export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Integers go to Neo4j as Integer (a JS number would be stored as a float, and LIMIT refuses floats). */
export function toNeo4j(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? neo4j.int(value) : value;
  if (Array.isArray(value)) return value.map(toNeo4j);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toNeo4j(v)]));
  }
  return value;
}

export const PERMANENT_CODES = [
  /^Neo\.ClientError\.Statement\./,
  /^Neo\.ClientError\.Schema\.(ConstraintValidationFailed|ConstraintViolation)/,
  /^Neo\.ClientError\.Security\.(Unauthorized|Forbidden|CredentialsExpired)/,
  /^Neo\.ClientError\.Database\.DatabaseNotFound/,
  /^Neo\.ClientError\.Request\./,
];

/** Maps a driver error to the taxonomy of DESIGN §6. */
export function neo4jError(error: unknown, code: ErrorCode): PipelineError {
  if (error instanceof PipelineError) return error;
  const driverCode = str((error as { code?: unknown } | null)?.code);
  const text = `Neo4j${driverCode ? ` ${driverCode}` : ''}: ${message(error)}`;
  if (!Neo4jError.isRetryable(error) && PERMANENT_CODES.some((re) => re.test(driverCode))) {
    return new PermanentError(code, text, { cause: error });
  }
  return new RetryableError(code, text, { cause: error });
}

/** expand's neighbour rows (ordered by the statement) → the first neighbour of each section. */
export function firstNeighbours(rows: readonly Row[]): Map<string, { id: string; title: string }> {
  const out = new Map<string, { id: string; title: string }>();
  for (const r of rows) if (!out.has(str(r.id))) out.set(str(r.id), { id: str(r.otherId), title: str(r.otherTitle) });
  return out;
}

/** expand's entity rows (ordered by the statement) → each section's entities; kinds off the allowlist dropped. */
export function entitiesOfRows(rows: readonly Row[]): Map<string, SectionExpansion['entities'][number][]> {
  const out = new Map<string, SectionExpansion['entities'][number][]>();
  for (const r of rows) {
    const kind = str(r.kind);
    if (!isEntityKind(kind)) continue;
    const list = out.get(str(r.id)) ?? [];
    list.push({ id: str(r.entityId), kind, name: str(r.name) });
    out.set(str(r.id), list);
  }
  return out;
}
