/**
 * The production GraphStore on Neo4j 5 (DESIGN §3, §5), with the semantics of the embedded LadybugDB store:
 *
 * - At open, uniqueness constraints on every `id`, indexes on `Section.document_id`, `generation` and
 *   `Document.tag`, and a full-text index on section title and text are created idempotently (several
 *   services starting at once may race on them; an "already exists" answer is success), then awaited.
 * - writeVersion is a group commit, as in the embedded store: versions queued while this process's writer is
 *   busy are merged into one managed transaction (`executeWrite`, which retries transient errors such as
 *   deadlocks) of parameterised `UNWIND` batches (neo4j-statements.ts). Inside it each Document's write lock
 *   is taken before its generation is read (the fence), so writers in other processes serialise per
 *   document; a version older than what is stored, or than another version of its document in the batch, is
 *   answered applied=false and writes nothing. If the merged transaction fails for good, each version is
 *   retried alone so one bad version fails one job.
 * - Every section written has its outgoing NEXT_CHUNK, HAS_SUBSECTION, MENTIONS, REFERENCES (and the
 *   HAS_STEP of procedures it mentions) replaced. Sections carry `:Section:Chunk`; entities `:Entity` plus a
 *   label from the allowlist map, never from data.
 * - Deletes (sections of a document, orphan entities) run in bounded batches, one transaction each.
 * - Reads run beside the writer; one bookmark manager per store makes them see this store's own writes
 *   (causal consistency, also in a cluster).
 * - Driver errors become RetryableError (transient, unavailable, timeouts) or PermanentError (syntax,
 *   constraint violations, bad credentials); nothing is swallowed.
 */
import neo4j, { type BookmarkManager } from 'neo4j-driver';
import { isEntityKind, type EntityKind, type GraphDocumentVersion, type SectionExpansion, type SectionHash } from '../../domain/model.js';
import { ErrorCode, PermanentError, RetryableError } from '../../errors/errors.js';
import type { DocumentGraph, GraphCounts, GraphStore, GraphWriteResult, StoredDocument, StoredSection } from '../../ports/graph-store.js';
import { edgesOfRows, entityIdsOf, entityOfRow, expansionsOf, sectionOfRow, toStoredDocument } from './document-graph.js';
import { SingleWriter } from '../../util/single-writer.js';
import { checkVersion, mergeRows, REFUSED, winnersByDocument, type CheckedVersion, type EntityRow } from './ladybug-batch.js';
import { AWAIT_INDEXES, isRegistered, MAINTAIN, READ, SCHEMA, WRITE, type Statement } from './neo4j-statements.js';
import {
  entitiesOfRows, firstNeighbours, neo4jError, num, str, toNeo4j, toStoredSection, type Neo4jDriver, type Neo4jSession, type Neo4jTx, type Params, type Row,
} from './neo4j-values.js';

export { neo4jError, type Neo4jDriver, type Neo4jSession, type Neo4jTx } from './neo4j-values.js';

export interface Neo4jGraphStoreOptions {
  /** bolt:// or neo4j:// URI (NEO4J_URI). */
  readonly uri: string;
  readonly user?: string;
  readonly password?: string;
  /** Database name; the server's default when unset. */
  readonly database?: string;
  /** A group commit closes at this many rows; default 2000. */
  readonly maxBatchRows?: number;
  /** Nodes per delete transaction; default 1000. */
  readonly deleteBatchSize?: number;
  /** How long executeWrite/executeRead keep retrying transient errors; default 30 s. */
  readonly maxTransactionRetryTimeMs?: number;
  readonly maxConnectionPoolSize?: number;
  /** How long to wait for indexes to come online at open; default 300 s. */
  readonly awaitIndexesSeconds?: number;
  /** Tests: a driver to use instead of connecting to `uri` (the store then does not close it). */
  readonly driver?: Neo4jDriver;
}

type Outcome = { ok: true; value: GraphWriteResult } | { ok: false; error: unknown };

const ALREADY_EXISTS = /EquivalentSchemaRuleAlreadyExists|IndexAlreadyExists|ConstraintAlreadyExists/;

export class Neo4jGraphStore implements GraphStore {
  readonly kind = 'neo4j';
  private readonly writer: SingleWriter;
  private readonly bookmarks: BookmarkManager = neo4j.bookmarkManager();
  private readonly deleteBatchSize: number;
  private closed = false;

  private constructor(
    private readonly driver: Neo4jDriver,
    private readonly ownsDriver: boolean,
    private readonly database: string | undefined,
    options: Neo4jGraphStoreOptions,
  ) {
    this.writer = new SingleWriter({ maxBatchRows: options.maxBatchRows ?? 2000 });
    this.deleteBatchSize = Math.max(1, options.deleteBatchSize ?? 1000);
  }

  /** Connects, then creates constraints and indexes idempotently and waits for them to be online. */
  static async open(options: Neo4jGraphStoreOptions): Promise<Neo4jGraphStore> {
    const driver: Neo4jDriver =
      options.driver ??
      (neo4j.driver(
        options.uri,
        options.user !== undefined ? neo4j.auth.basic(options.user, options.password ?? '') : undefined,
        {
          disableLosslessIntegers: true,
          maxTransactionRetryTime: options.maxTransactionRetryTimeMs ?? 30_000,
          maxConnectionPoolSize: options.maxConnectionPoolSize ?? 50,
          connectionAcquisitionTimeout: 60_000,
          userAgent: 'graphrag-ingest',
        },
      ) as unknown as Neo4jDriver);
    const store = new Neo4jGraphStore(driver, !options.driver, options.database, options);
    try {
      await driver.verifyConnectivity(options.database ? { database: options.database } : undefined);
      await store.createSchema(options.awaitIndexesSeconds ?? 300);
      return store;
    } catch (error) {
      if (!options.driver) await driver.close().catch(() => undefined);
      throw neo4jError(error, ErrorCode.StoreUnavailable);
    }
  }

  private async createSchema(awaitSeconds: number): Promise<void> {
    const session = this.session();
    try {
      for (const s of SCHEMA) {
        try {
          await this.send(session, s, {});
        } catch (error) {
          // Another service created the same rule between our IF NOT EXISTS check and our create.
          if (!ALREADY_EXISTS.test(str((error as { code?: unknown }).code))) throw error;
        }
      }
      await this.send(session, AWAIT_INDEXES, { seconds: awaitSeconds });
    } finally {
      await session.close();
    }
  }

  // ---- writes ------------------------------------------------------------------------------------

  async writeVersion(version: GraphDocumentVersion): Promise<GraphWriteResult> {
    this.assertOpen();
    const checked = checkVersion(version); // bad input fails its own job, before any shared batch
    const outcome = await this.writer.batch<CheckedVersion, Outcome>('write', checked, checked.rows, (items) => this.writeBatch(items));
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  async removeSectionsExcept(documentId: string, keepSectionIds: readonly string[]): Promise<number> {
    const keep = [...new Set(keepSectionIds)];
    return this.deleteInBatches(MAINTAIN.removeSectionsExcept, { documentId, keep });
  }

  async deleteDocument(documentId: string): Promise<number> {
    const sections = await this.deleteInBatches(MAINTAIN.deleteSections, { documentId });
    const documents = await this.write(async (tx) => num((await this.send(tx, MAINTAIN.deleteDocument, { documentId }))[0]?.n));
    return sections + documents;
  }

  async markCompleted(documentId: string, generation: number, pipelineVersion: string): Promise<void> {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new PermanentError(ErrorCode.PayloadInvalid, 'generation must be an integer >= 0');
    }
    const n = await this.write(async (tx) =>
      num((await this.send(tx, MAINTAIN.markCompleted, { documentId, generation, pipelineVersion }))[0]?.n),
    );
    if (n === 0) throw new PermanentError(ErrorCode.NotFound, `document ${documentId} is not in the graph`);
  }

  async removeOrphanEntities(): Promise<number> {
    return this.deleteInBatches(MAINTAIN.removeOrphanEntities, {});
  }

  /** Runs a `LIMIT $limit … RETURN count(*) AS n` delete until a batch comes back short; one transaction each. */
  private async deleteInBatches(s: Statement, params: Params): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.write(async (tx) => num((await this.send(tx, s, { ...params, limit: this.deleteBatchSize }))[0]?.n));
      total += n;
      if (n < this.deleteBatchSize) return total;
    }
  }

  /** One merged transaction for the batch; if it fails for good, each version again alone. */
  private async writeBatch(items: CheckedVersion[]): Promise<Outcome[]> {
    const winners = winnersByDocument(items);
    const winning = [...winners.values()].map((i) => items[i]!);
    const byDocument = new Map<string, Outcome>();
    try {
      for (const [documentId, result] of await this.writeTransaction(winning)) byDocument.set(documentId, { ok: true, value: result });
    } catch (error) {
      if (winning.length === 1) {
        byDocument.set(winning[0]!.documentId, { ok: false, error: neo4jError(error, ErrorCode.StoreWriteFailed) });
      } else {
        for (const version of winning) {
          try {
            byDocument.set(version.documentId, { ok: true, value: (await this.writeTransaction([version])).get(version.documentId)! });
          } catch (single) {
            byDocument.set(version.documentId, { ok: false, error: neo4jError(single, ErrorCode.StoreWriteFailed) });
          }
        }
      }
    }
    return items.map((item): Outcome => {
      const winner = items[winners.get(item.documentId)!]!;
      // Same generation = the same version offered twice: it shares the winner's outcome; older ones are refused.
      if (winner.generation !== item.generation) return { ok: true, value: REFUSED };
      return byDocument.get(item.documentId)!;
    });
  }

  /** Writes versions (one per document) in one managed transaction; returns each document's result. */
  private async writeTransaction(versions: readonly CheckedVersion[]): Promise<Map<string, GraphWriteResult>> {
    const session = this.session();
    try {
      // executeWrite re-runs this function after a transient failure: it must (and does) start from scratch.
      return await session.executeWrite(async (tx) => {
        const ids = versions.map((v) => v.documentId).sort();
        const stored = new Map<string, number>();
        for (const r of await this.send(tx, WRITE.lockDocuments, { ids })) stored.set(str(r.id), num(r.generation));
        const results = new Map<string, GraphWriteResult>();
        const applicable = versions.filter((v) => {
          const fenced = (stored.get(v.documentId) ?? -1) > v.generation;
          results.set(v.documentId, fenced ? REFUSED : v.result);
          return !fenced;
        });
        if (applicable.length === 0) return results;
        const existing = new Set([...stored].filter(([, g]) => g >= 0).map(([id]) => id));
        const rows = mergeRows(applicable, existing);
        const sections = [...rows.sectionsOfStoredDocuments, ...rows.createdSections];
        const sectionIds = sections.map((s) => s.id);
        // Replace: first the steps of procedures these sections mention, then every outgoing edge. Procedures
        // are looked up by id too: one left behind by a deleted document keeps its steps until the janitor.
        await this.sendList(tx, WRITE.deleteStepsOfMentionedProcedures, 'ids', sectionIds);
        await this.sendList(tx, WRITE.deleteStepsOfProcedures, 'ids', rows.procedureIds);
        await this.sendList(tx, WRITE.deleteOutgoing, 'ids', sectionIds);
        await this.sendList(tx, WRITE.deleteIncomingParent, 'ids', sectionIds);
        await this.sendList(tx, WRITE.upsertDocuments, 'rows', rows.documents);
        await this.sendList(tx, WRITE.upsertSections, 'rows', sections);
        // Entities in id order, so concurrent transactions in other processes lock shared ones in one order.
        const byKind = new Map<EntityKind, EntityRow[]>();
        for (const e of [...rows.entities].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
          if (!isEntityKind(e.kind)) throw new PermanentError(ErrorCode.PayloadInvalid, `entity ${e.id}: kind is not on the allowlist`);
          const list = byKind.get(e.kind);
          if (list) list.push(e);
          else byKind.set(e.kind, [e]);
        }
        for (const [kind, list] of byKind) await this.sendList(tx, WRITE.upsertEntities[kind], 'rows', list);
        await this.sendList(tx, WRITE.createNextChunk, 'rows', rows.nextChunks);
        await this.sendList(tx, WRITE.createSubsection, 'rows', rows.subsections);
        await this.sendList(tx, WRITE.createMentions, 'rows', rows.mentions);
        await this.sendList(tx, WRITE.createSteps, 'rows', rows.steps);
        await this.sendList(tx, WRITE.createDocumentReferences, 'rows', rows.documentReferences);
        await this.sendList(tx, WRITE.createSectionReferences, 'rows', rows.sectionReferences);
        return results;
      });
    } finally {
      await session.close();
    }
  }

  // ---- reads -------------------------------------------------------------------------------------

  async sectionHashes(documentId: string): Promise<SectionHash[]> {
    const rows = await this.read((tx) => this.send(tx, READ.sectionHashes, { documentId }));
    return rows.map((r) => ({ id: str(r.id), contentHash: str(r.contentHash), generation: num(r.generation) }));
  }

  async getDocument(documentId: string): Promise<StoredDocument | null> {
    const row = (await this.read((tx) => this.send(tx, READ.document, { documentId })))[0];
    return row ? toStoredDocument(row) : null;
  }

  async listDocuments(tag?: string): Promise<StoredDocument[]> {
    const rows = await this.read((tx) =>
      tag === undefined ? this.send(tx, READ.documents, {}) : this.send(tx, READ.documentsByTag, { tag }),
    );
    return rows.map(toStoredDocument);
  }

  async expand(sectionIds: readonly string[]): Promise<SectionExpansion[]> {
    const ids = [...new Set(sectionIds)];
    if (ids.length === 0) return [];
    return this.read(async (tx) => {
      const rows = (s: Statement) => this.send(tx, s, { ids });
      const found = new Set((await rows(READ.expandSections)).map((r) => str(r.id)));
      const parents = firstNeighbours(await rows(READ.expandParents));
      const previous = firstNeighbours(await rows(READ.expandPrevious));
      const next = firstNeighbours(await rows(READ.expandNext));
      const entities = entitiesOfRows(await rows(READ.expandEntities));
      return expansionsOf(ids, found, { parents, previous, next, entities });
    });
  }

  async counts(documentId?: string): Promise<GraphCounts> {
    return this.read(async (tx) => {
      if (documentId === undefined) {
        const r = (await this.send(tx, READ.countsAll, {}))[0] ?? {};
        return { documents: num(r.documents), sections: num(r.sections), entities: num(r.entities), mentions: num(r.mentions), edges: num(r.edges) };
      }
      const r = (await this.send(tx, READ.countsOfDocument, { documentId }))[0] ?? {};
      const entityIds = new Set((await this.send(tx, READ.entitiesOfDocument, { documentId })).map((e) => str(e.id)));
      const steps = new Set<string>();
      for (const s of await this.send(tx, READ.stepsOfDocument, { documentId })) {
        entityIds.add(str(s.id));
        steps.add(`${str(s.procedureId)}\u0000${str(s.id)}`);
      }
      return {
        documents: num(r.documents),
        sections: num(r.sections),
        entities: entityIds.size,
        mentions: num(r.mentions),
        edges: num(r.sectionEdges) + steps.size,
      };
    });
  }

  async getSections(ids: readonly string[]): Promise<StoredSection[]> {
    if (ids.length === 0) return [];
    const rows = await this.read((tx) => this.send(tx, READ.sections, { ids: [...new Set(ids)] }));
    const byId = new Map(rows.map((r) => [str(r.id), toStoredSection(r)]));
    return ids.map((id) => byId.get(id)).filter((x): x is StoredSection => x !== undefined);
  }

  async sectionsOf(documentId: string): Promise<StoredSection[]> {
    return (await this.read((tx) => this.send(tx, READ.sectionsOfDocument, { documentId }))).map(toStoredSection);
  }

  async documentGraph(documentId: string): Promise<DocumentGraph> {
    return this.read(async (tx) => {
      const sections = (await this.send(tx, READ.graphSections, { documentId })).map(sectionOfRow);
      const edges = edgesOfRows(await this.send(tx, READ.graphSectionEdges, { documentId }), await this.send(tx, READ.graphSteps, { documentId }));
      const ids = entityIdsOf(edges);
      const entities = ids.length === 0 ? [] : (await this.send(tx, READ.entitiesById, { ids })).map(entityOfRow);
      return { sections, entities, edges };
    });
  }

  async mentionsOf(sectionId: string): Promise<Map<string, number>> {
    const rows = await this.read((tx) => this.send(tx, READ.mentionsOf, { sectionId }));
    return new Map(rows.map((r) => [str(r.id), num(r.count)]));
  }

  /** Waits for queued writes, then closes the driver (unless it was handed in). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer.close();
    } finally {
      if (this.ownsDriver) await this.driver.close().catch(() => undefined);
    }
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private assertOpen(): void {
    // Retryable: a job caught by a shutdown runs again after the restart.
    if (this.closed) throw new RetryableError(ErrorCode.StoreUnavailable, 'neo4j: the store is closed');
  }

  private session(): Neo4jSession {
    return this.driver.session({ ...(this.database ? { database: this.database } : {}), bookmarkManager: this.bookmarks });
  }

  /** Sends one registered statement with exactly its declared parameters. */
  private async send(runner: Pick<Neo4jTx, 'run'>, s: Statement, params: Params): Promise<Row[]> {
    if (!isRegistered(s)) throw new PermanentError(ErrorCode.Internal, `unregistered Cypher statement ${s.name}`);
    const given = Object.keys(params).sort();
    if (given.join() !== [...s.params].sort().join()) {
      throw new PermanentError(ErrorCode.Internal, `statement ${s.name} takes $${s.params.join(', $')}, got ${given.join(', ')}`);
    }
    const result = await runner.run(s.cypher, toNeo4j(params) as Params);
    return result.records.map((r) => r.toObject());
  }

  /** An UNWIND statement over a list parameter; nothing is sent for an empty list. */
  private async sendList(tx: Neo4jTx, s: Statement, param: 'ids' | 'rows', list: readonly unknown[]): Promise<void> {
    if (list.length > 0) await this.send(tx, s, { [param]: list });
  }

  private async read<T>(work: (tx: Neo4jTx) => Promise<T>): Promise<T> {
    this.assertOpen();
    const session = this.session();
    try {
      return await session.executeRead(work);
    } catch (error) {
      throw neo4jError(error, ErrorCode.StoreUnavailable);
    } finally {
      await session.close();
    }
  }

  /** A write transaction through this process's writer (one at a time, after queued group commits). */
  private write<T>(work: (tx: Neo4jTx) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.writer.exclusive(async () => {
      const session = this.session();
      try {
        return await session.executeWrite(work);
      } catch (error) {
        throw neo4jError(error, ErrorCode.StoreWriteFailed);
      } finally {
        await session.close();
      }
    });
  }
}
