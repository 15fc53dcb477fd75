/**
 * The embedded GraphStore on LadybugDB (DESIGN §3, §5): one Database, one Connection and one SingleWriter
 * per store, and every call (reads too) goes through that writer. LadybugDB admits one write transaction
 * at a time and a connection reused after a failed BEGIN can crash the process, so nothing else may touch
 * the connection, and a connection whose transaction state is in doubt is replaced, never reused.
 *
 * writeVersion is a group commit: versions queued while the writer is busy are merged into one transaction
 * (one UNWIND statement per kind of row). Inside it the stored generations are read first (the fence); a
 * version older than what is stored, or older than another version of its document in the same batch, is
 * answered applied=false and writes nothing. markCompleted and removeSectionsExcept are grouped the same
 * way (one transaction per run of queued calls), and the per-document reads of every job are coalesced
 * across jobs (ladybug-reads.ts): under concurrency LadybugDB's cost is per statement and per commit.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import lbug from '@ladybugdb/core';
import type { Database, LbugValue } from '@ladybugdb/core';
import { type GraphDocumentVersion, type SectionExpansion, type SectionHash } from '../../domain/model.js';
import { ErrorCode, PermanentError } from '../../errors/errors.js';
import type { DocumentGraph, GraphCounts, GraphStore, GraphWriteResult, StoredDocument, StoredSection } from '../../ports/graph-store.js';
import { edgesOfRows, entityIdsOf, entityOfRow, sectionOfRow, toStoredDocument } from './document-graph.js';
import { SingleWriter } from '../../util/single-writer.js';
import { claimDatabaseFile, releaseDatabaseFile } from './ladybug-files.js';
import {
  checkVersion, completionsToWrite, entityWrites, mergeRows, partitionByStored, REFUSED, splitBySectionCount, winnersByDocument,
  type CheckedVersion, type Completion, type EntityRow, type SectionRow,
} from './ladybug-batch.js';
import { documentReads, expandSections, num, str, type DocumentReads, type Run } from './ladybug-reads.js';
import { LadybugReadPool, LadybugSession, storeError, type Params, type Row } from './ladybug-session.js';
import { MAINTAIN, READ, SCHEMA, WRITE } from './ladybug-statements.js';

export interface LadybugGraphStoreOptions {
  /** A group commit closes at this many rows (documents + sections + entities + edges); default 2000. */
  readonly maxBatchRows?: number;
  /** Ladybug buffer pool in bytes; Ladybug's own default (a share of RAM) when unset. */
  readonly bufferPoolBytes?: number;
  /**
   * Largest database file, a power of two; default 256 GiB. Ladybug reserves this much address space per
   * Database and does not give it back on close, so its own 8 TiB default runs out after ~15 opens.
   */
  readonly maxDbBytes?: number;
}

/** One item's answer from a grouped write: the others of its transaction may have succeeded or not. */
type Outcome<T = GraphWriteResult> = { ok: true; value: T } | { ok: false; error: unknown };
interface Removal {
  readonly documentId: string;
  readonly keep: string[];
}

const DEFAULT_MAX_DB_BYTES = 2 ** 38;
/** New sections of one document from which they are created a column at a time (createSections). */
const COLUMNS_FROM_SECTIONS = 64;
/** Connections for reads beside the writer's: two cores here, and reads are short. */
const READ_CONNECTIONS = 2;

const closedError = (): Error => new Error('STORE_CLOSED: the graph store is closed');
const toStoredSection = (r: Row): StoredSection => ({
  id: str(r.id), documentId: str(r.documentId), ordinal: num(r.ordinal), level: num(r.level), title: str(r.title),
  headingPath: Array.isArray(r.headingPath) ? r.headingPath.map((x) => str(x as LbugValue)) : [], anchor: str(r.anchor),
  text: str(r.text), contentHash: str(r.contentHash), generation: num(r.generation),
});

export class LadybugGraphStore implements GraphStore {
  readonly kind = 'ladybug';
  private readonly writer: SingleWriter;
  private readonly session: LadybugSession;
  private readonly readers: LadybugReadPool;
  private readonly reads: DocumentReads;
  private closed = false;

  private constructor(
    private readonly db: Database,
    private readonly file: string,
    maxBatchRows: number,
  ) {
    this.session = new LadybugSession(db);
    this.readers = new LadybugReadPool(db, READ_CONNECTIONS);
    this.writer = new SingleWriter({ maxBatchRows });
    this.reads = documentReads((fn) => this.readNow(fn));
  }

  /** Opens (creating if needed) the store in `dir` and creates the schema idempotently. */
  static async open(dir: string, options: LadybugGraphStoreOptions = {}): Promise<LadybugGraphStore> {
    const file = claimDatabaseFile(dir);
    let db: Database | undefined;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      db = new lbug.Database(file, options.bufferPoolBytes ?? 0, true, false, options.maxDbBytes ?? DEFAULT_MAX_DB_BYTES);
      const store = new LadybugGraphStore(db, file, options.maxBatchRows ?? 2000);
      for (const ddl of SCHEMA) await store.session.query(ddl);
      return store;
    } catch (error) {
      releaseDatabaseFile(file);
      await db?.close().catch(() => undefined);
      throw storeError(error, ErrorCode.StoreUnavailable);
    }
  }

  async writeVersion(version: GraphDocumentVersion): Promise<GraphWriteResult> {
    const checked = checkVersion(version); // bad input fails its own job, before any shared batch
    const outcome = await this.writer.batch<CheckedVersion, Outcome>('write', checked, checked.rows, (items) =>
      this.writeBatch(items),
    );
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  async removeSectionsExcept(documentId: string, keepSectionIds: readonly string[]): Promise<number> {
    const removal: Removal = { documentId, keep: [...keepSectionIds] };
    const outcome = await this.writer.batch<Removal, Outcome<number>>('removeSectionsExcept', removal, 1, (items) =>
      this.groupedTransaction(async () => {
        // Item by item, in queue order: two calls for one document remove what both exclude.
        const out: Outcome<number>[] = [];
        for (const r of items) {
          const keep = new Set(r.keep);
          const stored = await this.run(MAINTAIN.sectionIdsOfDocument, { documentId: r.documentId });
          const doomed = stored.map((row) => str(row.id)).filter((id) => !keep.has(id));
          const removed = await this.session.runList(MAINTAIN.deleteSectionsById, 'ids', doomed);
          out.push({ ok: true, value: removed.reduce((n, row) => n + num(row.n), 0) });
        }
        return out;
      }),
    );
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  deleteDocument(documentId: string): Promise<number> {
    return this.write(async () => {
      const sections = num((await this.run(MAINTAIN.deleteSections, { documentId }))[0]?.n);
      return sections + num((await this.run(MAINTAIN.deleteDocument, { documentId }))[0]?.n);
    });
  }

  sectionHashes(documentId: string): Promise<SectionHash[]> {
    return this.coalesced(() => this.reads.sectionHashes(documentId));
  }

  getDocument(documentId: string): Promise<StoredDocument | null> {
    return this.coalesced(() => this.reads.getDocument(documentId));
  }

  listDocuments(tag?: string): Promise<StoredDocument[]> {
    return this.read(async (run) =>
      (tag === undefined ? await run(READ.documents, {}) : await run(READ.documentsByTag, { tag })).map(
        toStoredDocument,
      ),
    );
  }

  markCompleted(documentId: string, generation: number, pipelineVersion: string): Promise<void> {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      return Promise.reject(new PermanentError(ErrorCode.PayloadInvalid, 'generation must be an integer >= 0'));
    }
    const completion: Completion = { documentId, generation, pipelineVersion };
    return this.writer
      .batch<Completion, Outcome<void>>('markCompleted', completion, 1, (items) => this.markCompletedBatch(items))
      .then((outcome) => {
        if (!outcome.ok) throw outcome.error;
      });
  }

  expand(sectionIds: readonly string[]): Promise<SectionExpansion[]> {
    const ids = [...new Set(sectionIds)];
    if (ids.length === 0) return Promise.resolve([]);
    return this.read((run) => expandSections(run, ids));
  }

  removeOrphanEntities(): Promise<number> {
    return this.write(async () => num((await this.run(MAINTAIN.removeOrphanEntities, {}))[0]?.n));
  }

  counts(documentId?: string): Promise<GraphCounts> {
    if (documentId !== undefined) return this.coalesced(() => this.reads.counts(documentId));
    return this.read(async (run) => {
      const r = (await run(READ.countsAll, {}))[0] ?? {};
      return { documents: num(r.documents), sections: num(r.sections), entities: num(r.entities), mentions: num(r.mentions), edges: num(r.edges) };
    });
  }

  getSections(ids: readonly string[]): Promise<StoredSection[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.read(async (run) => {
      const byId = new Map((await run(READ.sections, { ids: [...new Set(ids)] })).map((r) => [str(r.id), toStoredSection(r)]));
      return ids.map((id) => byId.get(id)).filter((x): x is StoredSection => x !== undefined);
    });
  }

  sectionsOf(documentId: string): Promise<StoredSection[]> {
    return this.read(async (run) => (await run(READ.sectionsOfDocument, { documentId })).map(toStoredSection));
  }

  documentGraph(documentId: string): Promise<DocumentGraph> {
    return this.read(async (run) => {
      const sections = (await run(READ.graphSections, { documentId })).map(sectionOfRow);
      const edges = edgesOfRows(await run(READ.graphSectionEdges, { documentId }), await run(READ.graphSteps, { documentId }));
      const ids = entityIdsOf(edges);
      const entities = ids.length === 0 ? [] : (await run(READ.entitiesById, { ids })).map(entityOfRow);
      return { sections, entities, edges };
    });
  }

  mentionsOf(sectionId: string): Promise<Map<string, number>> {
    return this.read(async (run) => new Map((await run(READ.mentionsOf, { sectionId })).map((r) => [str(r.id), num(r.count)])));
  }

  /** Waits for queued work, then closes the connection and the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer.close();
    } finally {
      await this.reads.settled();
      await this.readers.close();
      await this.session.close();
      await this.db.close().catch(() => undefined);
      releaseDatabaseFile(this.file);
    }
  }

  // ---- group commit -------------------------------------------------------------------------------

  /** One transaction for the whole batch; if it fails, each document again alone so one bad row fails one job. */
  private async writeBatch(items: CheckedVersion[]): Promise<Outcome[]> {
    const winners = winnersByDocument(items);
    const winning = [...winners.values()].map((i) => items[i]!);
    const byDocument = new Map<string, Outcome>();
    try {
      for (const [documentId, result] of await this.writeTransaction(winning)) {
        byDocument.set(documentId, { ok: true, value: result });
      }
    } catch (error) {
      if (winning.length === 1) {
        byDocument.set(winning[0]!.documentId, { ok: false, error: storeError(error, ErrorCode.StoreWriteFailed) });
      } else {
        for (const version of winning) {
          try {
            byDocument.set(version.documentId, { ok: true, value: (await this.writeTransaction([version])).get(version.documentId)! });
          } catch (single) {
            byDocument.set(version.documentId, { ok: false, error: storeError(single, ErrorCode.StoreWriteFailed) });
          }
        }
      }
    }
    return items.map((item): Outcome => {
      const winner = items[winners.get(item.documentId)!]!;
      // Same generation = same version offered twice: it shares the winner's outcome; older ones are refused.
      if (winner.generation !== item.generation) return { ok: true, value: REFUSED };
      return byDocument.get(item.documentId)!;
    });
  }

  /** Writes versions (one per document) in one transaction; returns each document's result. */
  private writeTransaction(versions: readonly CheckedVersion[]): Promise<Map<string, GraphWriteResult>> {
    return this.session.transaction(async () => {
      const stored = new Map<string, number>();
      for (const r of await this.session.runList(WRITE.storedGenerations, 'ids', versions.map((v) => v.documentId))) {
        stored.set(str(r.id), num(r.generation));
      }
      const results = new Map<string, GraphWriteResult>();
      const applicable = versions.filter((v) => {
        const fenced = (stored.get(v.documentId) ?? -1) > v.generation;
        results.set(v.documentId, fenced ? REFUSED : v.result);
        return !fenced;
      });
      if (applicable.length === 0) return results;
      const rows = mergeRows(applicable, new Set(stored.keys()));
      // Replace: first the steps of procedures these sections mention, then every outgoing edge. Procedures
      // are looked up by id too: one left behind by a deleted document keeps its steps until the janitor.
      // Only stored ones can have steps, and the entity read tells which: a new document's procedures are
      // new (their ids are scoped to its sections), so its write no longer runs a DELETE per procedure
      // batch (4.3 ms each, ~8 % of the writer's time on the synthetic corpus).
      const storedEntities = await this.storedEntities([...rows.entities.map((e) => e.id), ...rows.procedureIds]);
      await this.session.runList(WRITE.deleteStepsOfMentionedProcedures, 'ids', rows.replacedSectionIds);
      await this.session.runList(WRITE.deleteStepsOfProcedures, 'ids', rows.procedureIds.filter((id) => storedEntities.has(id)));
      await this.session.runList(WRITE.deleteOutgoing, 'ids', rows.replacedSectionIds);
      await this.session.runList(WRITE.deleteIncomingParent, 'ids', rows.replacedSectionIds);
      const documents = partitionByStored(rows.documents, new Set(stored.keys()));
      await this.session.runList(WRITE.createDocuments, 'rows', documents.fresh);
      await this.session.runList(WRITE.updateDocuments, 'rows', documents.stored);
      const storedSectionIds = await this.session.runList(WRITE.storedSectionIds, 'ids', rows.replacedSectionIds);
      const sections = partitionByStored(rows.sectionsOfStoredDocuments, new Set(storedSectionIds.map((r) => str(r.id))));
      await this.session.runList(WRITE.updateSections, 'rows', sections.stored);
      await this.createSections([...sections.fresh, ...rows.createdSections]);
      await this.writeEntities(rows.entities, storedEntities);
      await this.session.runList(WRITE.createNextChunk, 'rows', rows.nextChunks);
      await this.session.runList(WRITE.createSubsection, 'rows', rows.subsections);
      await this.session.runList(WRITE.createMentions, 'rows', rows.mentions);
      await this.session.runList(WRITE.createSteps, 'rows', rows.steps);
      await this.session.runList(WRITE.createDocumentReferences, 'rows', rows.documentReferences);
      await this.session.runList(WRITE.createSectionReferences, 'rows', rows.sectionReferences);
      return results;
    });
  }

  /**
   * New sections: a document with many of them a column at a time (its own statement per 1,000 sections,
   * 2.4x cheaper), the small ones of a batch together as struct rows (one statement for all of them beats
   * one per document when each has a handful).
   */
  private async createSections(sections: readonly SectionRow[]): Promise<void> {
    const { large, small } = splitBySectionCount(sections, COLUMNS_FROM_SECTIONS);
    for (const [documentId, list] of large) {
      await this.session.runColumns(WRITE.createSectionsOfDocument, list.map(({ documentId: _, ...rest }) => rest), { documentId });
    }
    await this.session.runList(WRITE.createSections, 'rows', small);
  }

  /** Entities of these ids that are stored, with their kind and name. */
  private async storedEntities(ids: readonly string[]): Promise<Map<string, { kind: string; name: string }>> {
    const stored = new Map<string, { kind: string; name: string }>();
    for (const r of await this.session.runList(WRITE.storedEntities, 'ids', [...new Set(ids)])) {
      stored.set(str(r.id), { kind: str(r.kind), name: str(r.name) });
    }
    return stored;
  }

  /** Creates the entities not stored yet and rewrites stored ones only where kind or name changed (entityWrites). */
  private async writeEntities(entities: readonly EntityRow[], stored: ReadonlyMap<string, { kind: string; name: string }>): Promise<void> {
    const { create, update } = entityWrites(entities, stored);
    await this.session.runColumns(WRITE.createEntities, create);
    await this.session.runList(WRITE.updateEntities, 'rows', update);
  }

  /** Items for existing documents succeed, the others fail NotFound alone; see completionsToWrite. */
  private markCompletedBatch(items: Completion[]): Promise<Outcome<void>[]> {
    return this.groupedTransaction(async () => {
      const ids = [...new Set(items.map((i) => i.documentId))];
      const stored = new Map<string, number | null>();
      for (const r of await this.session.runList(MAINTAIN.completedGenerations, 'ids', ids)) {
        stored.set(str(r.id), r.completedGeneration === null || r.completedGeneration === undefined ? null : num(r.completedGeneration));
      }
      await this.session.runList(MAINTAIN.markCompletedRows, 'rows', completionsToWrite(items, stored));
      return items.map((i): Outcome<void> =>
        stored.has(i.documentId)
          ? { ok: true, value: undefined }
          : { ok: false, error: new PermanentError(ErrorCode.NotFound, `document ${i.documentId} is not in the graph`) },
      );
    });
  }

  /** A grouped write's one transaction; if it fails, every item of it fails with the mapped error. */
  private async groupedTransaction<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.session.transaction(fn);
    } catch (error) {
      throw storeError(error, ErrorCode.StoreWriteFailed);
    }
  }

  // ---- connection discipline ----------------------------------------------------------------------

  /** A read on a connection of the read pool, never on the writer's (see LadybugReadPool). */
  private read<T>(fn: (run: Run) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    return this.readNow(fn);
  }

  /** A coalesced read (ladybug-reads.ts), refused once the store is closing. */
  private coalesced<T>(read: () => Promise<T>): Promise<T> {
    return this.closed ? Promise.reject(closedError()) : read();
  }

  private readNow<T>(fn: (run: Run) => Promise<T>): Promise<T> {
    return this.readers.use(async (session) => {
      try {
        return await fn((cypher, params) => session.run(cypher, params));
      } catch (error) {
        throw storeError(error, ErrorCode.StoreUnavailable);
      }
    });
  }

  private run(cypher: string, params: Params): Promise<Row[]> {
    return this.session.run(cypher, params);
  }

  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.writer.exclusive(async () => {
      try {
        return await this.session.transaction(fn);
      } catch (error) {
        throw storeError(error, ErrorCode.StoreWriteFailed);
      }
    });
  }
}
