/**
 * LanceDB vector store (DESIGN §3, §5): the embedded default for section vectors and for the lexical
 * leg of hybrid retrieval (LanceDB's built-in full-text index).
 *
 * One table, `sections`, keyed by `id` (= sectionId). Every write — upserts, deletes, index upkeep,
 * compaction — goes through one SingleWriter (DESIGN §3): concurrent `mergeInsert`s of a new id create
 * duplicate rows and `optimize()` conflicts with writes. Reads (searches, lookups) run beside it; a
 * LanceDB table handle sees its own committed writes at once.
 *
 * Writes:
 * - upserts from concurrent jobs merge into one batch (group commit) and one `mergeInsert`; ids are
 *   de-duplicated in the batch (highest generation wins, the later one on a tie). The fence is the merge's
 *   condition `whenMatchedUpdateAll({ where: 'target.generation <= source.generation' })`: a stored row
 *   with a newer generation stays. `upsert` resolves with how many of the caller's points were written
 *   (inserted, or updated at an equal or newer generation); when several callers share a batch, their
 *   stored generations are read first (one scan) to tell each its own count. A batch whose ids are all
 *   new is appended instead (a third of a merge's cost; safe because nobody else writes).
 * - deletes from concurrent jobs merge the same way: one read of the affected documents' ids, one delete
 *   (a lone delete counts its rows first, then deletes). Nothing to write → no commit.
 *
 * Full-text freshness: rows written after the FTS index was last built are still searched (LanceDB scans
 * the unindexed rows), but that scan costs ~40 µs per row and scores those rows against index statistics
 * that do not include them yet. So the writer brings the index up to date (`optimize()`, which also
 * compacts) a while after writes — throttled to at most once per `ftsRefreshIntervalMs` and never more
 * than ~1/6 of the writer's time — and `searchText` first waits for a refresh when the unindexed rows
 * exceed `ftsMaxUnindexedRows` or a quarter of the indexed ones.
 */
import * as lancedb from '@lancedb/lancedb';
import type { VectorHit, VectorPoint } from '../../domain/model.js';
import { ErrorCode, PermanentError, RetryableError } from '../../errors/errors.js';
import type { SearchOptions, StoredPoint, VectorStore } from '../../ports/vector-store.js';
import { SingleWriter } from '../../util/single-writer.js';
import {
  chunks, clampLimit, FLOAT32_MAX, FTS_COLUMN, FTS_INDEX, ftsTerms, HIT_COLUMNS, IN_CHUNK, inList, searchTextOf,
  pointOfRow, sectionSchema, sqlString, storedPoint, storeError, TABLE, toHit, type Row,
} from './lancedb-rows.js';

export { ftsTerms, sqlString } from './lancedb-rows.js';

export interface LanceVectorStoreOptions {
  /** Bounds of LanceDB's session caches (its defaults are 6 GB and 1 GB). */
  readonly indexCacheBytes?: number;
  readonly metadataCacheBytes?: number;
  /** Rows per merged write batch (DESIGN §14: ~256). */
  readonly maxBatchRows?: number;
  /** Least time between two background full-text index refreshes. */
  readonly ftsRefreshIntervalMs?: number;
  /** searchText waits for a refresh first when more rows than this are unindexed. */
  readonly ftsMaxUnindexedRows?: number;
  /** Old table versions are pruned after this many write batches (and on close). */
  readonly pruneEveryBatches?: number;
  /** Table versions older than this are pruned. */
  readonly pruneOlderThanMs?: number;
}

interface DeleteRequest {
  readonly documentId: string;
  /** null: delete every point of the document. */
  readonly keep: ReadonlySet<string> | null;
}

export class LanceVectorStore implements VectorStore {
  readonly kind = 'lancedb';
  private readonly writer: SingleWriter;
  private readonly ftsRefreshIntervalMs: number;
  private readonly ftsMaxUnindexedRows: number;
  private readonly pruneEveryBatches: number;
  private readonly pruneOlderThanMs: number;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private lastRefreshDurationMs = 0;
  private batchesSincePrune = 0;
  /** Writes since the last optimize() (so close() can skip a needless one). */
  private writesSinceOptimize = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly db: lancedb.Connection,
    private readonly table: lancedb.Table,
    readonly dimensions: number,
    options: LanceVectorStoreOptions,
  ) {
    this.writer = new SingleWriter({ maxBatchRows: options.maxBatchRows ?? 256 });
    this.ftsRefreshIntervalMs = options.ftsRefreshIntervalMs ?? 1000;
    this.ftsMaxUnindexedRows = options.ftsMaxUnindexedRows ?? 2000;
    this.pruneEveryBatches = options.pruneEveryBatches ?? 500;
    this.pruneOlderThanMs = options.pruneOlderThanMs ?? 5 * 60_000;
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
      if (!(await table.listIndices()).some((i) => i.name === FTS_INDEX)) {
        // Default tokenizer: simple split, lowercase, ASCII folding, English stemming and stop words.
        await table.createIndex(FTS_COLUMN, { config: lancedb.Index.fts(), name: FTS_INDEX });
      }
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
    return this.writer.batch<Row[], number>('upsert', rows, rows.length, (items) => this.runUpserts(items));
  }

  deleteDocumentExcept(documentId: string, keepIds: readonly string[]): Promise<number> {
    return this.queueDelete({ documentId, keep: new Set(keepIds) });
  }

  deleteDocument(documentId: string): Promise<number> {
    return this.queueDelete({ documentId, keep: null });
  }

  private queueDelete(request: DeleteRequest): Promise<number> {
    this.assertOpen();
    return this.writer.batch<DeleteRequest, number>('delete', request, 1, (items) => this.runDeletes(items));
  }

  /** One merged upsert batch, inside the writer. */
  private async runUpserts(items: Row[][]): Promise<number[]> {
    const winners = new Map<string, Row>();
    for (const rows of items) {
      for (const row of rows) {
        const current = winners.get(row.id);
        if (!current || row.generation >= current.generation) winners.set(row.id, row);
      }
    }
    try {
      if (items.length === 1) {
        const rows = [...winners.values()];
        // Only this writer writes, so ids absent now stay absent until the append: a plain append is
        // safe then, and costs about a third of a merge (the common case: a document's first version).
        const allNew =
          rows.length <= IN_CHUNK && (await this.table.countRows(`id IN (${inList(rows.map((r) => r.id))})`)) === 0;
        if (allNew) {
          await this.table.add(rows as unknown as Record<string, unknown>[]);
          this.afterWrite();
          return [rows.length];
        }
        // The merge's own counts are the answer (a fenced match is neither inserted nor updated).
        const result = await this.merge(rows);
        const written = result.numInsertedRows + result.numUpdatedRows;
        if (written > 0) this.afterWrite();
        return [written];
      }
      // Several callers: read the stored generations once to tell each caller what was written of its points.
      const stored = await this.storedPoints([...winners.keys()]);
      const toWrite = [...winners.values()].filter((row) => {
        const s = stored.get(row.id);
        return !s || row.generation >= s.generation;
      });
      if (toWrite.length > 0) {
        if (stored.size === 0) await this.table.add(toWrite as unknown as Record<string, unknown>[]);
        else await this.merge(toWrite);
        this.afterWrite();
      }
      const written = new Set(toWrite);
      return items.map((rows) => rows.filter((r) => written.has(r)).length);
    } catch (error) {
      throw storeError(ErrorCode.StoreWriteFailed, 'upsert', error);
    }
  }

  /** Upsert keyed by id, fenced: a stored row with a newer generation stays as it is. */
  private merge(rows: Row[]): Promise<lancedb.MergeResult> {
    return this.table
      .mergeInsert('id')
      .whenMatchedUpdateAll({ where: 'target.generation <= source.generation' })
      .whenNotMatchedInsertAll()
      .execute(rows as unknown as Record<string, unknown>[]);
  }

  /** One merged delete batch, inside the writer; requests apply in queue order. */
  private async runDeletes(items: DeleteRequest[]): Promise<number[]> {
    try {
      const only = items.length === 1 ? items[0]! : undefined;
      if (only && (only.keep?.size ?? 0) <= IN_CHUNK) {
        // One caller: one delete, whose own count is the answer; a cheap count first spares an empty commit.
        const keep = only.keep && only.keep.size > 0 ? ` AND id NOT IN (${inList([...only.keep])})` : '';
        const predicate = `document_id = ${sqlString(only.documentId)}${keep}`;
        if ((await this.table.countRows(predicate)) === 0) return [0];
        const { numDeletedRows } = await this.table.delete(predicate);
        if (numDeletedRows > 0) this.afterWrite();
        return [numDeletedRows];
      }
      const documentIds = [...new Set(items.map((i) => i.documentId))];
      const byDocument = new Map<string, string[]>();
      for (const part of chunks(documentIds, IN_CHUNK)) {
        const rows = await this.table
          .query()
          .where(`document_id IN (${inList(part)})`)
          .select(['id', 'document_id'])
          .toArray();
        for (const row of rows) {
          const list = byDocument.get(String(row.document_id)) ?? [];
          list.push(String(row.id));
          byDocument.set(String(row.document_id), list);
        }
      }
      const doomed = new Set<string>();
      const counts = items.map((item) => {
        let n = 0;
        for (const id of byDocument.get(item.documentId) ?? []) {
          if (item.keep?.has(id) || doomed.has(id)) continue;
          doomed.add(id);
          n++;
        }
        return n;
      });
      if (doomed.size > 0) {
        for (const part of chunks([...doomed], IN_CHUNK)) await this.table.delete(`id IN (${inList(part)})`);
        this.afterWrite();
      }
      return counts;
    } catch (error) {
      throw storeError(ErrorCode.StoreWriteFailed, 'delete', error);
    }
  }

  private async storedPoints(ids: readonly string[]): Promise<Map<string, StoredPoint>> {
    const out = new Map<string, StoredPoint>();
    for (const part of chunks(ids, IN_CHUNK)) {
      const rows = await this.table
        .query()
        .where(`id IN (${inList(part)})`)
        .select(['id', 'content_hash', 'generation', 'embedding_version'])
        .toArray();
      for (const row of rows) out.set(String(row.id), storedPoint(row));
    }
    return out;
  }

  // ---------------------------------------------------------------- index upkeep (all inside the writer)

  private afterWrite(): void {
    this.writesSinceOptimize++;
    this.batchesSincePrune++;
    if (this.refreshTimer || this.closed) return;
    // At most one refresh per interval, and at most ~1/6 of the writer's time spent refreshing.
    const delay = Math.max(this.ftsRefreshIntervalMs, 5 * this.lastRefreshDurationMs);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (!this.closed) this.refreshIndex().catch(() => undefined); // retried after the next write or search
    }, delay);
    this.refreshTimer.unref();
  }

  /** Brings the FTS index up to date (and compacts) unless it already is; shared by concurrent callers. */
  private refreshIndex(): Promise<void> {
    this.refreshing ??= this.writer
      .exclusive(async () => {
        const stats = await this.table.indexStats(FTS_INDEX);
        const pruneDue = this.batchesSincePrune >= this.pruneEveryBatches;
        if (stats && stats.numUnindexedRows === 0 && !pruneDue) return;
        const started = performance.now();
        await this.optimize(pruneDue);
        this.lastRefreshDurationMs = performance.now() - started;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Compaction + index update (+ pruning old versions); must run inside the writer. */
  private async optimize(prune: boolean): Promise<void> {
    await this.table.optimize(prune ? { cleanupOlderThan: new Date(Date.now() - this.pruneOlderThanMs) } : {});
    if (!(await this.table.listIndices()).some((i) => i.name === FTS_INDEX)) {
      await this.table.createIndex(FTS_COLUMN, { config: lancedb.Index.fts(), name: FTS_INDEX });
    }
    this.writesSinceOptimize = 0;
    if (prune) this.batchesSincePrune = 0;
  }

  // ---------------------------------------------------------------- reads

  async existingHashes(documentId: string, embeddingVersion: string): Promise<Map<string, string>> {
    this.assertOpen();
    const rows = await this.read('existingHashes', () =>
      this.table
        .query()
        .where(`document_id = ${sqlString(documentId)} AND embedding_version = ${sqlString(embeddingVersion)}`)
        .select(['id', 'content_hash'])
        .toArray(),
    );
    return new Map(rows.map((r) => [String(r.id), String(r.content_hash)]));
  }

  async points(documentId: string): Promise<StoredPoint[]> {
    this.assertOpen();
    const rows = await this.read('points', () =>
      this.table
        .query()
        .where(`document_id = ${sqlString(documentId)}`)
        .select(['id', 'content_hash', 'generation', 'embedding_version'])
        .toArray(),
    );
    return rows.map(storedPoint).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
    const rows = await this.read('searchVector', () => {
      let query = this.table.vectorSearch(Float32Array.from(vector)).distanceType('cosine');
      if (options.tag !== undefined) query = query.where(`tag = ${sqlString(options.tag)}`);
      return query
        .select([...HIT_COLUMNS, '_distance'])
        .limit(limit)
        .toArray();
    });
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

  /** Waits for an index refresh when too much of the table is unindexed to scan or score well. */
  private async ensureFreshIndex(): Promise<void> {
    const stats = await this.read('indexStats', () => this.table.indexStats(FTS_INDEX));
    const unindexed = stats?.numUnindexedRows ?? Number.POSITIVE_INFINITY;
    const indexed = stats?.numIndexedRows ?? 0;
    if (unindexed === 0) return;
    if (unindexed > this.ftsMaxUnindexedRows || unindexed * 4 > indexed) {
      await this.refreshIndex().catch((error: unknown) => {
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

  /** Finishes queued writes, brings the index up to date, compacts and prunes, then closes. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearTimeout(this.refreshTimer);
      this.refreshTimer = undefined;
      try {
        await this.writer.exclusive(async () => {
          if (this.writesSinceOptimize > 0 || this.batchesSincePrune > 0) await this.optimize(true);
        });
      } finally {
        await this.writer.close();
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

  private checkVector(vector: readonly number[], what: string): void {
    if (!Array.isArray(vector) || vector.length !== this.dimensions) {
      throw new PermanentError(
        ErrorCode.BadEmbedding,
        `${what} has ${Array.isArray(vector) ? vector.length : 'no'} dimensions, the store expects ${this.dimensions}`,
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
      vector: Float32Array.from(p.vector),
    };
  }
}
