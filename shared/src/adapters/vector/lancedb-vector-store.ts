/**
 * LanceDB vector store (DESIGN §3, §5): the embedded default for section vectors and for the lexical
 * leg of hybrid retrieval (LanceDB's built-in full-text index).
 *
 * One table, `sections`, keyed by `id` (= sectionId). Every write goes through one LanceWriter
 * (lancedb-writer.ts: merged upserts and deletes, full-text index upkeep, compaction — DESIGN §3); this
 * class validates what it is given, owns the connection, and reads beside the writer: a LanceDB table
 * handle sees its own committed writes at once.
 *
 * Full-text freshness: rows written after the FTS index was last built are still searched, by a scan
 * (~0.045 ms a row) and scored against the index's statistics, so `searchText` first waits for a refresh
 * only when the unindexed rows exceed `ftsMaxUnindexedRows`. Every read tells the writer what it paid for
 * the upkeep not yet done; the writer optimizes when that adds up to an optimize's cost (lancedb-writer.ts).
 */
import * as lancedb from '@lancedb/lancedb';
import type { VectorHit, VectorPoint } from '../../domain/model.js';
import { ErrorCode, PermanentError, RetryableError } from '../../errors/errors.js';
import type { SearchOptions, StoredPoint, VectorStore } from '../../ports/vector-store.js';
import { coalescedReads } from '../../util/coalesced-reads.js';
import {
  chunks, clampLimit, ensureIndices, FLOAT32_MAX, FTS_COLUMN, FTS_INDEX, ftsTerms, HIT_COLUMNS, IN_CHUNK, inList, searchTextOf,
  pointOfRow, sectionSchema, sqlString, storedPoint, storeError, TABLE, toHit, type Row,
} from './lancedb-rows.js';
import { LanceWriter, type LanceWriterOptions, type Upkeep } from './lancedb-writer.js';

export { ftsTerms, sqlString } from './lancedb-rows.js';

export interface LanceVectorStoreOptions extends LanceWriterOptions {
  /** Bounds of LanceDB's session caches (its defaults are 6 GB and 1 GB). */
  readonly indexCacheBytes?: number;
  readonly metadataCacheBytes?: number;
  /** searchText waits for a refresh first when more rows than this are unindexed. */
  readonly ftsMaxUnindexedRows?: number;
}

/** One searchVector call as the coalesced search sees it (identity matters: it keys the answer). */
interface NearestRequest {
  readonly vector: Float32Array;
  readonly tag: string | undefined;
  readonly limit: number;
}

type LanceRow = Record<string, unknown>;

/**
 * Query vectors per coalesced vector search. Measured on ~3,500 rows: one search costs ~11.6 ms of CPU,
 * one carrying 16 vectors ~15 ms; larger batches keep most of that gain while bounding one query's size.
 */
const NEAREST_BATCH = 32;

export class LanceVectorStore implements VectorStore {
  readonly kind = 'lancedb';
  private readonly writer: LanceWriter;
  private readonly ftsMaxUnindexedRows: number;
  /**
   * Concurrent jobs' per-document reads and vector searches, merged into one query each (coalesced-reads.ts):
   * a LanceDB query's cost is mostly per-query planning, not rows (measured: `points` for one document
   * 3.7 ms of CPU, for 16 documents with `IN (…)` 4.0 ms; a vector search 11.6 ms, one carrying 16 query
   * vectors 15 ms). `points` and `existingHashes` share one loader, so the embed and verify stages of
   * different jobs batch together. A lone read goes out at once; reads issued while one runs wait and merge.
   */
  private readonly documentPoints: (documentId: string) => Promise<StoredPoint[]>;
  private readonly nearestRows: (request: NearestRequest) => Promise<LanceRow[]>;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly db: lancedb.Connection,
    private readonly table: lancedb.Table,
    readonly dimensions: number,
    options: LanceVectorStoreOptions,
  ) {
    this.writer = new LanceWriter(table, options);
    this.ftsMaxUnindexedRows = options.ftsMaxUnindexedRows ?? 1000; // ~0.1 ms of scan per unindexed row
    this.documentPoints = coalescedReads((ids) => this.loadDocumentPoints(ids), () => [], { maxBatch: IN_CHUNK });
    this.nearestRows = coalescedReads((requests) => this.loadNearestRows(requests), () => [], { maxBatch: NEAREST_BATCH });
  }

  /** Opens (creating if needed) the store in `dir`. Only one process may open a given dir (DESIGN §3). */
  static async open(dir: string, dimensions: number, options: LanceVectorStoreOptions = {}): Promise<LanceVectorStore> {
    if (!Number.isInteger(dimensions) || dimensions < 1) {
      throw new PermanentError(ErrorCode.BadEmbedding, `lancedb: dimensions must be a positive integer, got ${dimensions}`);
    }
    let db: lancedb.Connection | undefined;
    try {
      // LanceDB's default caches (6 GB index, 1 GB metadata) would let one process grow past any sane
      // budget on a small machine; these bounds keep the embedded default well under 1 GB.
      const session = new lancedb.Session(BigInt(options.indexCacheBytes ?? 64 * 1024 * 1024), BigInt(options.metadataCacheBytes ?? 32 * 1024 * 1024));
      db = await lancedb.connect(dir, {}, session);
      let table: lancedb.Table;
      if ((await db.tableNames()).includes(TABLE)) {
        table = await db.openTable(TABLE);
        const vectorField = (await table.schema()).fields.find((f) => f.name === 'vector');
        // Duck-typed: the schema may come from another copy of apache-arrow than ours.
        const stored = (vectorField?.type as { listSize?: unknown } | undefined)?.listSize;
        if (stored !== dimensions) {
          throw new PermanentError(
            ErrorCode.BadEmbedding,
            `lancedb: the store in ${dir} holds ${stored ?? 'no'}-dimensional vectors, not ${dimensions}; ` +
              're-create it (or point at another directory) after changing the embedder',
          );
        }
      } else {
        table = await db.createTable({ name: TABLE, data: [], schema: sectionSchema(dimensions) });
      }
      await ensureIndices(table);
      return new LanceVectorStore(db, table, dimensions, options);
    } catch (error) {
      db?.close();
      throw storeError(ErrorCode.StoreUnavailable, `open ${dir}`, error);
    }
  }

  // ---------------------------------------------------------------- writes

  async upsert(points: readonly VectorPoint[]): Promise<number> {
    this.assertOpen();
    if (points.length === 0) return 0;
    const rows = points.map((p, n) => this.toRow(p, n)); // validates everything before anything is queued
    return this.writer.upsert(rows);
  }

  deleteDocumentExcept(documentId: string, keepIds: readonly string[]): Promise<number> {
    this.assertOpen();
    return this.writer.deleteDocument(documentId, new Set(keepIds));
  }

  deleteDocument(documentId: string): Promise<number> {
    this.assertOpen();
    return this.writer.deleteDocument(documentId, null);
  }

  // ---------------------------------------------------------------- reads

  async existingHashes(documentId: string, embeddingVersion: string): Promise<Map<string, string>> {
    this.assertOpen();
    const points = await this.read('existingHashes', () => this.documentPoints(documentId));
    return new Map(points.filter((p) => p.embeddingVersion === embeddingVersion).map((p) => [p.id, p.contentHash]));
  }

  async points(documentId: string): Promise<StoredPoint[]> {
    this.assertOpen();
    const points = await this.read('points', () => this.documentPoints(documentId));
    // Copies: callers asking for the same document in one batch share the loaded list.
    return points.map((p) => ({ ...p })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async fullPoints(documentId: string): Promise<VectorPoint[]> {
    this.assertOpen();
    const rows = await this.read('fullPoints', () => this.table.query().where(`document_id = ${sqlString(documentId)}`).toArray());
    return rows.map(pointOfRow).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async count(documentId?: string): Promise<number> {
    this.assertOpen();
    return this.read('count', () =>
      documentId === undefined ? this.table.countRows() : this.table.countRows(`document_id = ${sqlString(documentId)}`),
    );
  }

  async searchVector(vector: readonly number[], options: SearchOptions): Promise<VectorHit[]> {
    this.assertOpen();
    this.checkVector(vector, 'query vector');
    const limit = clampLimit(options.limit);
    if (limit === 0) return [];
    const rows = await this.read('searchVector', () =>
      this.nearestRows({ vector: Float32Array.from(vector), tag: options.tag, limit }),
    );
    return rows
      .map((r) => toHit(r, 1 - Number(r._distance)))
      .filter((h) => Number.isFinite(h.score))
      .sort((a, b) => b.score - a.score);
  }

  async searchText(query: string, options: SearchOptions): Promise<VectorHit[]> {
    this.assertOpen();
    const limit = clampLimit(options.limit);
    const terms = ftsTerms(query);
    if (limit === 0 || terms.length === 0) return [];
    await this.ensureFreshIndex();
    const rows = await this.read('searchText', () => {
      let q = this.table.query().fullTextSearch(new lancedb.MatchQuery(terms.join(' '), FTS_COLUMN));
      if (options.tag !== undefined) q = q.where(`tag = ${sqlString(options.tag)}`);
      return q
        .select([...HIT_COLUMNS, '_score'])
        .limit(limit)
        .toArray();
    });
    return rows
      .map((r) => toHit(r, Number(r._score)))
      .filter((h) => Number.isFinite(h.score))
      .sort((a, b) => b.score - a.score);
  }

  // ---------------------------------------------------------------- coalesced reads

  /** Every stored point of each document asked for, in table order; one `document_id IN (…)` query per batch. */
  private async loadDocumentPoints(documentIds: readonly string[]): Promise<Map<string, StoredPoint[]>> {
    this.assertOpen();
    const byDocument = new Map<string, StoredPoint[]>();
    for (const part of chunks(documentIds, IN_CHUNK)) {
      this.writer.noteScan();
      const rows = await this.table
        .query()
        .where(`document_id IN (${inList(part)})`)
        .select(['id', 'document_id', 'content_hash', 'generation', 'embedding_version'])
        .toArray();
      for (const row of rows) {
        const documentId = String(row.document_id);
        const list = byDocument.get(documentId) ?? [];
        list.push(storedPoint(row));
        byDocument.set(documentId, list);
      }
    }
    return byDocument;
  }

  /**
   * The raw rows of each vector search, with one LanceDB query per distinct (tag, limit): a query given
   * several vectors runs one sub-search per vector — the limit and the tag prefilter apply to each, so
   * each answer is the one a lone search gives (tested) — and tags every row with its vector's
   * `query_index`. Searches with different tags or limits never share a query.
   */
  private async loadNearestRows(requests: readonly NearestRequest[]): Promise<Map<NearestRequest, LanceRow[]>> {
    this.assertOpen();
    const groups = new Map<string, NearestRequest[]>();
    for (const request of requests) {
      const key = JSON.stringify([request.tag ?? null, request.limit]);
      const group = groups.get(key);
      if (group) group.push(request);
      else groups.set(key, [request]);
    }
    const answers = new Map<NearestRequest, LanceRow[]>();
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const [first, ...others] = group as [NearestRequest, ...NearestRequest[]];
        let query = this.table.vectorSearch(first.vector).distanceType('cosine');
        for (const other of others) query = query.addQueryVector(other.vector);
        if (first.tag !== undefined) query = query.where(`tag = ${sqlString(first.tag)}`);
        this.writer.noteScan();
        const rows: LanceRow[] = await query
          .select([...HIT_COLUMNS, '_distance'])
          .limit(first.limit)
          .toArray();
        if (others.length === 0) {
          answers.set(first, rows); // a single-vector query has no query_index column
          return;
        }
        for (const request of group) answers.set(request, []);
        for (const row of rows) {
          const request = group[Number(row.query_index)];
          // A row that cannot be attributed must fail the searches, never land in another caller's answer.
          if (!request) throw new Error(`multi-vector search returned a row with query_index ${String(row.query_index)}`);
          answers.get(request)!.push(row);
        }
      }),
    );
    return answers;
  }

  /** Waits for an index refresh when too much of the table is unindexed to scan or score well. */
  private async ensureFreshIndex(): Promise<void> {
    const stats = await this.read('indexStats', () => this.table.indexStats(FTS_INDEX));
    const unindexed = stats?.numUnindexedRows ?? Number.POSITIVE_INFINITY;
    if (unindexed === 0) return;
    if (Number.isFinite(unindexed)) this.writer.noteTextSearch(unindexed);
    // Only the scan's cost bounds the wait. A quarter-of-the-index rule (for BM25 statistics that miss the
    // newest rows) made nearly every search of a young table wait for an optimize() queued behind the
    // writes — p95 drop-to-searchable ~1 s at half load — while ranking is by reciprocal rank anyway.
    if (unindexed > this.ftsMaxUnindexedRows) {
      await this.writer.refreshIndex().catch((error: unknown) => {
        throw storeError(ErrorCode.StoreUnavailable, 'full-text index refresh', error);
      });
    }
  }

  private async read<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw storeError(ErrorCode.StoreUnavailable, what, error);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Index upkeep so far: optimize() runs, rent paid since the last, what the last cost (diagnostics, tests). */
  upkeep(): Upkeep {
    return this.writer.upkeep();
  }

  /** Finishes queued writes, brings the index up to date, compacts and prunes, then closes. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      try {
        await this.writer.close();
      } finally {
        this.table.close();
        this.db.close();
      }
    })();
    return this.closing;
  }

  private assertOpen(): void {
    // Retryable: a job caught by a shutdown runs again after the restart.
    if (this.closed) throw new RetryableError(ErrorCode.StoreUnavailable, 'lancedb: the store is closed');
  }

  // ---------------------------------------------------------------- validation

  private checkVector(vector: readonly number[] | Float32Array, what: string): void {
    const isList = Array.isArray(vector) || vector instanceof Float32Array;
    if (!isList || vector.length !== this.dimensions) {
      throw new PermanentError(
        ErrorCode.BadEmbedding,
        `${what} has ${isList ? vector.length : 'no'} dimensions, the store expects ${this.dimensions}`,
      );
    }
    for (let i = 0; i < vector.length; i++) {
      const x = vector[i];
      if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX) {
        throw new PermanentError(ErrorCode.BadEmbedding, `${what} has a non-finite value at [${i}]: ${String(x)}`);
      }
    }
  }

  private toRow(p: VectorPoint, n: number): Row {
    if (typeof p.id !== 'string' || p.id === '' || typeof p.documentId !== 'string' || p.documentId === '') {
      throw new PermanentError(ErrorCode.PayloadInvalid, `point #${n} has no id or documentId`);
    }
    if (!Number.isSafeInteger(p.generation) || p.generation < 0) {
      throw new PermanentError(ErrorCode.PayloadInvalid, `point ${p.id} has an invalid generation: ${p.generation}`);
    }
    this.checkVector(p.vector, `point ${p.id}`);
    return {
      id: p.id,
      document_id: p.documentId,
      source_uri: p.sourceUri,
      tag: p.tag,
      title: p.title,
      heading_path: [...p.headingPath],
      text: p.text,
      content_hash: p.contentHash,
      generation: p.generation,
      embedding_version: p.embeddingVersion,
      search_text: searchTextOf(p),
      vector: p.vector instanceof Float32Array ? p.vector : Float32Array.from(p.vector),
    };
  }
}
