/**
 * The write side of the LanceDB vector store (DESIGN §3): every write to the `sections` table — upserts,
 * deletes, full-text index upkeep, compaction — goes through one SingleWriter, because concurrent
 * `mergeInsert`s of a new id create duplicate rows and `optimize()` conflicts with writes. The store
 * (lancedb-vector-store.ts) validates what it is given, hands it here, and reads beside this writer.
 *
 * Writes:
 * - upserts from concurrent jobs merge into one batch (group commit) and one `mergeInsert`; ids are
 *   de-duplicated in the batch (highest generation wins, the later one on a tie). The fence is the merge's
 *   condition `whenMatchedUpdateAll({ where: 'target.generation <= source.generation' })`: a stored row
 *   with a newer generation stays. `upsert` resolves with how many of the caller's points were written
 *   (inserted, or updated at an equal or newer generation); when several callers share a batch, their
 *   stored generations are read first (one scan) to tell each its own count. A batch whose ids are all
 *   new is appended instead (a third of a merge's cost; safe because nobody else writes). Which ids are
 *   new a Bloom filter of the stored ids tells (lancedb-stored-ids.ts); the table is read only for the
 *   ids it may hold.
 * - deletes from concurrent jobs merge the same way: one read of the affected documents' ids, one delete
 *   (a lone delete counts its rows first, then deletes). Nothing to write → no commit.
 *
 * Upkeep (`optimize()`: compaction, full-text index update, pruning) is bought, not rented forever.
 * Until it runs, every read pays rent: each write commit leaves a small fragment that every scan opens
 * (~0.2 ms a fragment per query, measured), and each row written since the last index update is scanned
 * and tokenized by every full-text search (~0.045 ms a row). An optimize costs ~30 ms plus ~0.009 ms a
 * row of the table (measured alone: 50 ms at 2,300 rows, 300 ms at 30k), since LanceDB compacts the small
 * fragments and brings four indices up to date. So the store reports each read's estimated rent
 * (`noteScan`, `noteTextSearch`) and the writer optimizes once the rent paid since the last one reaches
 * what one costs now (rent-or-buy: never more than twice the best schedule's cost, whatever the mix of
 * reads and writes). Both sides are costs measured alone, in the same units. The optimize's wall time is
 * not its cost: under load it ran beside the very writes and reads that pay the rent, took 150-900 ms
 * (once 3.6 s) for ~60 ms of work, and deferred the next optimize by as much, so fragments piled up and
 * every read slowed. Open loop at 13.2 docs/s, interleaved, wall time against the cost model: 8-10 against
 * 27-29 optimizes per 220 documents, verify's slowest tenth 85-262 against 78-97 ms, p95 drop-to-searchable
 * 190-403 against 175-206 ms; closed-loop throughput the same (32.7-33.7 against 33.7-34.0 docs/s).
 * It also optimizes once writes pause (`ftsRefreshIntervalMs`: the index is fresh for readers at rest, at
 * no cost to writers), and after `maxWritesBetweenOptimize` commits whatever the reads. A fixed interval
 * instead optimized every ~1.5 s under load — ~20 % of the writer's time, with every write that arrived
 * meanwhile waiting.
 *
 * Appends go on while an optimize runs; merges and deletes wait for it. Lance commits an append beside a
 * compaction or an index update without conflict (the append only adds fragments; the rows it adds stay
 * unindexed until the next optimize), whereas a merge or delete rewrites fragments the compaction may be
 * rewriting too. Measured (lancedb 0.39, 680-21k rows, 20-row appends back to back during each of 15
 * optimizes): no error, no row lost or doubled, every index whole after the last optimize. Before, every
 * write waited for the whole optimize (150-270 ms every ~17 documents at 9 docs/s): the tail of the
 * drop-to-searchable latency, since most writes are first versions, which append.
 */
import * as lancedb from '@lancedb/lancedb';
import { ErrorCode } from '../../errors/errors.js';
import type { StoredPoint } from '../../ports/vector-store.js';
import { SingleWriter } from '../../util/single-writer.js';
import { chunks, ensureIndices, FTS_INDEX, IN_CHUNK, inList, rowsTable, sqlString, storedPoint, storeError, type Row } from './lancedb-rows.js';
import { StoredIds } from './lancedb-stored-ids.js';

/** Measured (lancedb 0.39, 2,000-3,500 rows): a scan's cost per small fragment, a search's per unindexed row. */
const FRAGMENT_SCAN_MS = 0.2;
const UNINDEXED_ROW_MS = 0.045;
/** Measured alone (lancedb 0.39, four indices, 20 appended fragments): an optimize's cost at `rows` rows. */
const OPTIMIZE_BASE_MS = 30;
const OPTIMIZE_ROW_MS = 0.009;
export const optimizeCostMs = (rows: number): number => OPTIMIZE_BASE_MS + OPTIMIZE_ROW_MS * rows;

export interface LanceWriterOptions {
  /** Rows per merged write batch (DESIGN §14: ~256). */
  readonly maxBatchRows?: number;
  /** Writes pausing this long bring the index up to date (and compact). */
  readonly ftsRefreshIntervalMs?: number;
  /** Commits after which the writer optimizes whatever the reads (bounds the fragments a scan opens). */
  readonly maxWritesBetweenOptimize?: number;
  /** Old table versions are pruned after this many write batches (and on close). */
  readonly pruneEveryBatches?: number;
  /** Table versions older than this are pruned. */
  readonly pruneOlderThanMs?: number;
}

export interface Upkeep {
  readonly refreshes: number;
  readonly rentMs: number;
  /** What an optimize costs now (by the table's size at the last one), against which rent is weighed. */
  readonly optimizeCostMs: number;
  readonly running: Promise<void>;
}

interface DeleteRequest {
  readonly documentId: string;
  /** null: delete every point of the document. */
  readonly keep: ReadonlySet<string> | null;
}

export class LanceWriter {
  private readonly writer: SingleWriter;
  /** Which ids the table may hold: spares the read before an append of new ids. */
  private readonly storedIds: StoredIds;
  private readonly ftsRefreshIntervalMs: number;
  private readonly pruneEveryBatches: number;
  private readonly pruneOlderThanMs: number;
  private readonly maxWritesBetweenOptimize: number;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  /** The optimize() under way, if any: it runs beside the writer's appends; merges and deletes await it. */
  private optimizing: Promise<void> | undefined;
  /** What an optimize() costs at the table's size when the last one ended (optimizeCostMs). */
  private optimizeCost = optimizeCostMs(0);
  /** Estimated read time paid since the last optimize() for what it would have removed (rent). */
  private rentMs = 0;
  private refreshes = 0;
  private batchesSincePrune = 0;
  /** Writes since the last optimize() (so close() can skip a needless one). */
  private writesSinceOptimize = 0;
  private closed = false;

  constructor(
    private readonly table: lancedb.Table,
    options: LanceWriterOptions,
  ) {
    this.writer = new SingleWriter({ maxBatchRows: options.maxBatchRows ?? 256 });
    this.storedIds = new StoredIds(table);
    this.ftsRefreshIntervalMs = options.ftsRefreshIntervalMs ?? 1000;
    this.pruneEveryBatches = options.pruneEveryBatches ?? 500;
    this.pruneOlderThanMs = options.pruneOlderThanMs ?? 5 * 60_000;
    this.maxWritesBetweenOptimize = options.maxWritesBetweenOptimize ?? 200;
  }

  /** Resolves with how many of `rows` were written (already validated by the store). */
  upsert(rows: Row[]): Promise<number> {
    return this.writer.batch<Row[], number>('upsert', rows, rows.length, (items) => this.runUpserts(items));
  }

  /** Removes the document's rows whose ids are not in `keep` (null: all of them); resolves with the count. */
  deleteDocument(documentId: string, keep: ReadonlySet<string> | null): Promise<number> {
    return this.writer.batch<DeleteRequest, number>('delete', { documentId, keep }, 1, (items) => this.runDeletes(items));
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
        const none = await this.noneStored(rows);
        await this.storedIds.add(rows.map((r) => r.id));
        if (none) {
          await this.table.add(rowsTable(rows));
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
        await this.storedIds.add(toWrite.map((r) => r.id));
        if (stored.size === 0) await this.table.add(rowsTable(toWrite));
        else await this.merge(toWrite);
        this.afterWrite();
      }
      const written = new Set(toWrite);
      return items.map((rows) => rows.filter((r) => written.has(r)).length);
    } catch (error) {
      throw storeError(ErrorCode.StoreWriteFailed, 'upsert', error);
    }
  }

  /** Upsert keyed by id, fenced: a stored row with a newer generation stays as it is. Waits out an optimize. */
  private async merge(rows: Row[]): Promise<lancedb.MergeResult> {
    await this.upkeepSettled();
    return this.table
      .mergeInsert('id')
      .whenMatchedUpdateAll({ where: 'target.generation <= source.generation' })
      .whenNotMatchedInsertAll()
      .execute(rowsTable(rows));
  }

  /**
   * True when none of `rows`' ids is stored: those the filter may hold are counted an IN list at a time,
   * stopping at the first hit.
   */
  private async noneStored(rows: readonly Row[]): Promise<boolean> {
    for (const part of chunks(await this.storedIds.maybeStored(rows.map((r) => r.id)), IN_CHUNK)) {
      this.noteScan();
      if ((await this.table.countRows(`id IN (${inList(part)})`)) > 0) return false;
    }
    return true;
  }

  /** One merged delete batch, inside the writer; requests apply in queue order. */
  private async runDeletes(items: DeleteRequest[]): Promise<number[]> {
    try {
      await this.upkeepSettled();
      const only = items.length === 1 ? items[0]! : undefined;
      if (only && (only.keep?.size ?? 0) <= IN_CHUNK) {
        // One caller: one delete, whose own count is the answer; a cheap count first spares an empty commit.
        const keep = only.keep && only.keep.size > 0 ? ` AND id NOT IN (${inList([...only.keep])})` : '';
        const predicate = `document_id = ${sqlString(only.documentId)}${keep}`;
        this.noteScan();
        if ((await this.table.countRows(predicate)) === 0) return [0];
        const { numDeletedRows } = await this.table.delete(predicate);
        if (numDeletedRows > 0) this.afterWrite();
        return [numDeletedRows];
      }
      const documentIds = [...new Set(items.map((i) => i.documentId))];
      const byDocument = new Map<string, string[]>();
      for (const part of chunks(documentIds, IN_CHUNK)) {
        this.noteScan();
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

  /** The stored points among `ids` (only those the filter may hold are read). */
  private async storedPoints(ids: readonly string[]): Promise<Map<string, StoredPoint>> {
    const out = new Map<string, StoredPoint>();
    for (const part of chunks(await this.storedIds.maybeStored(ids), IN_CHUNK)) {
      this.noteScan();
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
    if (this.closed) return;
    if (this.writesSinceOptimize >= this.maxWritesBetweenOptimize) {
      void this.refreshIndex().catch(() => undefined); // retried after the next write or read
      return;
    }
    // Debounced: under a steady stream of writes only the rent (or the commit count) triggers one.
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (!this.closed) this.refreshIndex().catch(() => undefined);
    }, this.ftsRefreshIntervalMs);
    this.refreshTimer.unref();
  }

  /** A read that scans the table (a filter or a flat vector search) pays for every fragment written since. */
  noteScan(): void {
    this.payRent(this.writesSinceOptimize * FRAGMENT_SCAN_MS);
  }

  /** A full-text search pays for every row its index does not hold yet. */
  noteTextSearch(unindexedRows: number): void {
    this.payRent(unindexedRows * UNINDEXED_ROW_MS);
  }

  /** What upkeep has done so far (tests, diagnostics); `running` settles when an optimize under way ends. */
  upkeep(): Upkeep {
    return { refreshes: this.refreshes, rentMs: this.rentMs, optimizeCostMs: this.optimizeCost, running: this.refreshing?.catch(() => undefined) ?? Promise.resolve() };
  }

  private payRent(ms: number): void {
    if (ms <= 0 || this.closed) return;
    this.rentMs += ms;
    if (this.rentMs >= this.optimizeCost) void this.refreshIndex().catch(() => undefined);
  }

  /**
   * Brings the FTS index up to date and compacts unless nothing changed; shared by concurrent callers. The
   * optimize starts in the writer's turn (after the merge or delete before it) and then runs beside it;
   * this resolves when it ends.
   */
  refreshIndex(): Promise<void> {
    this.refreshing ??= this.writer
      .exclusive(async () => {
        const stats = await this.table.indexStats(FTS_INDEX);
        const pruneDue = this.batchesSincePrune >= this.pruneEveryBatches;
        if (stats && stats.numUnindexedRows === 0 && this.writesSinceOptimize === 0 && !pruneDue) return {};
        // Wrapped: a promise returned bare would make the writer wait for it.
        return { running: this.startOptimize(pruneDue) };
      })
      .then(({ running }) => running)
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private startOptimize(prune: boolean): Promise<void> {
    this.optimizing = this.optimize(prune)
      .finally(() => {
        this.optimizing = undefined;
      });
    return this.optimizing;
  }

  /** Resolves once no optimize() runs (whatever its outcome: the write that waits reports its own). */
  private upkeepSettled(): Promise<void> {
    return this.optimizing?.catch(() => undefined) ?? Promise.resolve();
  }

  /**
   * Compaction + index update (+ pruning old versions). Started in the writer's turn; appends committed
   * meanwhile count towards the next one.
   */
  private async optimize(prune: boolean): Promise<void> {
    const writes = this.writesSinceOptimize;
    const batches = this.batchesSincePrune;
    const rent = this.rentMs;
    await this.table.optimize(prune ? { cleanupOlderThan: new Date(Date.now() - this.pruneOlderThanMs) } : {});
    await ensureIndices(this.table);
    // The count reads only the manifest; should it fail, the optimize still happened and the old cost stands.
    const rows = await this.table.countRows().catch(() => null);
    if (rows !== null) this.optimizeCost = optimizeCostMs(rows);
    this.writesSinceOptimize -= writes;
    this.rentMs = Math.max(0, this.rentMs - rent);
    this.refreshes++;
    if (prune) this.batchesSincePrune -= batches;
  }

  /** Finishes queued writes, then brings the index up to date, compacts and prunes; the table stays open. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    try {
      await this.writer.exclusive(async () => {
        await this.upkeepSettled();
        if (this.writesSinceOptimize > 0 || this.batchesSincePrune > 0) await this.optimize(true);
      });
    } finally {
      await this.writer.close();
    }
  }
}
