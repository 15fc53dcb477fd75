/**
 * LanceDB rows and predicates: the table layout, SQL-literal quoting, full-text terms and row → domain
 * mapping. Pure functions; the store (lancedb-vector-store.ts) owns the table and the reads, its writer
 * (lancedb-writer.ts) everything written.
 */
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Int64, List, makeData, RecordBatch, Schema, Struct, Table, Utf8, type Data } from 'apache-arrow';
import type { VectorHit, VectorPoint } from '../../domain/model.js';
import { ErrorCode, PipelineError, RetryableError } from '../../errors/errors.js';
import type { StoredPoint } from '../../ports/vector-store.js';

export const TABLE = 'sections';
export const FTS_COLUMN = 'search_text';
export const FTS_INDEX = `${FTS_COLUMN}_idx`;
/**
 * The full-text index: LanceDB's default tokenizer (simple split, lowercase, ASCII folding, English stemming
 * and stop words), without token positions, which only phrase queries need (searchText sends a MatchQuery
 * of terms): a smaller index and optimize() ~20 % cheaper (290 against 380 ms on ~2,800 rows). A store made
 * before keeps its index with positions; both answer the same queries.
 */
export const FTS_OPTIONS = { withPosition: false } as const;
/**
 * Every index the table keeps, made at open and after optimize() when missing. Besides the full-text index,
 * scalar indexes for the store's own predicates: `document_id IN (…)` (points, existingHashes), `id IN (…)`
 * (the writer's stored-point checks) and `tag = …` (every search's prefilter). Without them each of these
 * scans the column, so their cost grows with the table: at 50k rows points() 5.8 -> 1.8 ms, a tagged vector
 * search 81 -> 47 ms, a tagged full-text search 5.7 -> 2.9 ms. optimize() folds new rows into them.
 */
export const TABLE_INDICES: readonly { readonly column: string; readonly name: string; readonly config: () => lancedb.Index }[] = [
  { column: FTS_COLUMN, name: FTS_INDEX, config: () => lancedb.Index.fts(FTS_OPTIONS) },
  { column: 'document_id', name: 'document_id_idx', config: () => lancedb.Index.btree() },
  { column: 'id', name: 'id_idx', config: () => lancedb.Index.btree() },
  { column: 'tag', name: 'tag_idx', config: () => lancedb.Index.bitmap() },
];

/** Creates whichever of TABLE_INDICES the table lacks (a store made before gets them on its next open). */
export async function ensureIndices(table: lancedb.Table): Promise<void> {
  const present = new Set((await table.listIndices()).map((i) => i.name));
  for (const index of TABLE_INDICES) {
    if (!present.has(index.name)) await table.createIndex(index.column, { config: index.config(), name: index.name });
  }
}

export const HIT_COLUMNS = ['id', 'document_id', 'source_uri', 'tag', 'title', 'heading_path', 'text'];
/** Ids per `IN (...)` list in one predicate. */
export const IN_CHUNK = 1000;
/** Query terms kept from one searchText query. */
export const MAX_QUERY_TERMS = 64;
export const MAX_LIMIT = 10_000;
/** The largest finite float32; larger finite numbers would be stored as Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export interface Row {
  id: string;
  document_id: string;
  source_uri: string;
  tag: string;
  title: string;
  heading_path: string[];
  text: string;
  content_hash: string;
  generation: number;
  embedding_version: string;
  search_text: string;
  vector: Float32Array;
}

/** A SQL string literal for LanceDB (DataFusion) predicates: quotes doubled, nothing else is special. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export const inList = (values: readonly string[]): string => values.map(sqlString).join(', ');

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The words of a user query as the FTS tokenizer would see them: runs of letters, marks and digits.
 * Quotes, brackets, colons and operators never reach LanceDB, so no query can be a syntax error.
 */
export function ftsTerms(query: string): string[] {
  return (query.normalize('NFKC').match(/[\p{L}\p{M}\p{N}]+/gu) ?? []).slice(0, MAX_QUERY_TERMS);
}

/** What the full-text index sees of a section: heading path (title included), then the text. */
export function searchTextOf(point: VectorPoint): string {
  const path = point.headingPath.length > 0 ? point.headingPath.join(' / ') : point.title;
  // The heading path twice: a poor man's field boost, so a page's own title outranks passing mentions of
  // it in long pages (the FTS index has one column, and BM25 has no per-field weights here).
  return path ? `${path}\n${path}\n${point.text}` : point.text;
}

export function stringList(value: unknown): string[] {
  if (value == null) return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'object' && Symbol.iterator in value) return [...(value as Iterable<unknown>)].map(String);
  return [];
}

export function toHit(row: Record<string, unknown>, score: number): VectorHit {
  return {
    id: String(row.id),
    documentId: String(row.document_id),
    sourceUri: String(row.source_uri),
    tag: String(row.tag),
    title: String(row.title),
    headingPath: stringList(row.heading_path),
    text: String(row.text),
    score,
  };
}

export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function storeError(code: ErrorCode, what: string, error: unknown): PipelineError {
  if (error instanceof PipelineError) return error;
  return new RetryableError(code, `lancedb ${what} failed: ${message(error)}`, { cause: error });
}

export function storedPoint(row: Record<string, unknown>): StoredPoint {
  return {
    id: String(row.id),
    contentHash: String(row.content_hash),
    generation: Number(row.generation),
    embeddingVersion: String(row.embedding_version),
  };
}

/** A stored row as the domain point it was written from (search_text is derived, so left out). */
export function pointOfRow(row: Record<string, unknown>): VectorPoint {
  return {
    id: String(row.id), documentId: String(row.document_id), sourceUri: String(row.source_uri), tag: String(row.tag),
    title: String(row.title), headingPath: stringList(row.heading_path), text: String(row.text),
    contentHash: String(row.content_hash), generation: Number(row.generation), embeddingVersion: String(row.embedding_version),
    vector: [...(row.vector as Iterable<number>)],
  };
}

export function clampLimit(limit: number): number {
  if (!Number.isFinite(limit) || limit <= 0) return 0;
  return Math.min(Math.floor(limit), MAX_LIMIT);
}

export function sectionSchema(dimensions: number): Schema {
  const utf8 = (name: string): Field => new Field(name, new Utf8(), false);
  return new Schema([
    utf8('id'),
    utf8('document_id'),
    utf8('source_uri'),
    utf8('tag'),
    utf8('title'),
    new Field('heading_path', new List(new Field('item', new Utf8(), true)), false),
    utf8('text'),
    utf8('content_hash'),
    new Field('generation', new Int64(), false),
    utf8('embedding_version'),
    utf8(FTS_COLUMN),
    new Field('vector', new FixedSizeList(dimensions, new Field('item', new Float32(), true)), false),
  ]);
}

/**
 * Rows → one Arrow table in the section schema, built a column at a time. Handed plain objects, LanceDB
 * converts them value by value through Arrow builders; for a 9,000-section document that took about twice
 * as long as this, where the vectors go in as one Float32Array and the strings as one buffer per column.
 */
export function rowsTable(rows: readonly Row[]): Table {
  const dimensions = rows[0]?.vector.length ?? 0;
  const schema = sectionSchema(dimensions);
  const length = rows.length;
  const floats = new Float32Array(length * dimensions);
  rows.forEach((r, i) => floats.set(r.vector, i * dimensions));
  const column = (field: Field): Data => {
    const name = field.name as keyof Row;
    if (name === 'vector') {
      const child = makeData({ type: new Float32(), length: floats.length, nullCount: 0, data: floats });
      return makeData({ type: field.type as FixedSizeList<Float32>, length, nullCount: 0, child });
    }
    if (name === 'generation') return makeData({ type: new Int64(), length, nullCount: 0, data: BigInt64Array.from(rows, (r) => BigInt(r.generation)) });
    if (name === 'heading_path') {
      const valueOffsets = new Int32Array(length + 1);
      rows.forEach((r, i) => { valueOffsets[i + 1] = valueOffsets[i]! + r.heading_path.length; });
      return makeData({ type: field.type as List<Utf8>, length, nullCount: 0, valueOffsets, child: utf8Data(rows.flatMap((r) => r.heading_path)) });
    }
    return utf8Data(rows.map((r) => r[name] as string));
  };
  const children = schema.fields.map(column);
  return new Table(schema, new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children })));
}

function utf8Data(values: readonly string[]): Data<Utf8> {
  const valueOffsets = new Int32Array(values.length + 1);
  for (let i = 0; i < values.length; i++) valueOffsets[i + 1] = valueOffsets[i]! + Buffer.byteLength(values[i]!, 'utf8');
  const data = new Uint8Array(valueOffsets[values.length]!); // its own ArrayBuffer, not a slice of Node's pool
  const writer = Buffer.from(data.buffer);
  for (let i = 0; i < values.length; i++) writer.write(values[i]!, valueOffsets[i]!, 'utf8');
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets, data });
}
