/**
 * The per-document reads every job makes (graph: sectionHashes; verify: sectionHashes, getDocument,
 * counts), coalesced across jobs (util/coalesced-reads.ts). LadybugDB plans every statement, so under
 * concurrency the cost is the number of statements, not their rows: sixteen verifies asking for their own
 * document one by one cost far more than one UNWIND over sixteen ids.
 *
 * A batch of one key reads hashes and the document with the per-document statements, which are cheaper
 * than an UNWIND over one id; counts always take the batched form, cheaper either way. Both forms give the
 * same answer, a document that is not there included ([] / null / zero counts). Every caller gets its own list or object, as when each read was its own query.
 *
 * Also expand's reads (expandSections), which are not coalesced: their row shaping lives here beside them.
 */
import type { LbugValue } from '@ladybugdb/core';
import { isEntityKind, type EntityKind, type SectionExpansion, type SectionHash } from '../../domain/model.js';
import type { GraphCounts, StoredDocument } from '../../ports/graph-store.js';
import { coalescedReads } from '../../util/coalesced-reads.js';
import type { Params, Row } from './ladybug-session.js';
import { EXPAND_BY_KEY, READ } from './ladybug-statements.js';
import { expansionsOf, toStoredDocument } from './document-graph.js';

export type Run = (cypher: string, params: Params) => Promise<Row[]>;
/** Runs `fn` on a connection of the read pool. */
export type Reader = <T>(fn: (run: Run) => Promise<T>) => Promise<T>;

export const num = (v: LbugValue | undefined): number => (v === null || v === undefined ? 0 : Number(v));
export const str = (v: LbugValue | undefined): string => (v === null || v === undefined ? '' : String(v));

/**
 * One batch per kind at a time: the read pool has two connections, and the verify of a document asks for
 * all three kinds at once; reads issued meanwhile wait for the running batch and go out together.
 */
const OPTIONS = { maxBatch: 256, maxInFlight: 1 };
/** What countsOf reads; `documents` comes from the document read (documentReads). */
type SectionCounts = Omit<GraphCounts, 'documents'>;
const ZERO: SectionCounts = { sections: 0, entities: 0, mentions: 0, edges: 0 };

export interface DocumentReads {
  sectionHashes(documentId: string): Promise<SectionHash[]>;
  getDocument(documentId: string): Promise<StoredDocument | null>;
  counts(documentId: string): Promise<GraphCounts>;
  /**
   * Waits for every read asked for so far. A coalesced read goes out a tick or a batch after it was
   * asked for; one accepted before the store closes is still answered, as a direct read would be, so the
   * store waits for them before it closes the read pool.
   */
  settled(): Promise<void>;
}

export function documentReads(read: Reader): DocumentReads {
  const hashes = coalescedReads((ids: readonly string[]) => read((run) => sectionHashes(run, ids)), () => [], OPTIONS);
  const documents = coalescedReads((ids: readonly string[]) => read((run) => documentsOf(run, ids)), () => null, OPTIONS);
  const counts = coalescedReads((ids: readonly string[]) => read((run) => countsOf(run, ids)), () => ZERO, OPTIONS);
  const pending = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    const forget = (): void => void pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  };
  return {
    sectionHashes: (id) => track(hashes(id).then((list) => [...list])),
    getDocument: (id) => track(documents(id).then((doc) => doc && { ...doc })),
    // `documents` comes from the document read, which verify asks for in the same tick: both callers
    // share one statement (DataLoader hands the batch distinct ids) instead of counts running its own.
    counts: (id) => track(Promise.all([documents(id), counts(id)]).then(([doc, c]) => ({ ...c, documents: doc ? 1 : 0 }))),
    settled: async () => void (await Promise.allSettled([...pending])),
  };
}

/** Rows in the statement's order (ordinal, id), grouped by document; absent documents are left out. */
async function sectionHashes(run: Run, ids: readonly string[]): Promise<Map<string, SectionHash[]>> {
  const rows: Row[] =
    ids.length === 1
      ? (await run(READ.sectionHashes, { documentId: ids[0]! })).map((r) => ({ ...r, documentId: ids[0]! }))
      : await run(READ.sectionHashesOfDocuments, { ids: [...ids] });
  const out = new Map<string, SectionHash[]>();
  for (const r of rows) {
    const list = out.get(str(r.documentId)) ?? [];
    list.push({ id: str(r.id), contentHash: str(r.contentHash), generation: num(r.generation) });
    out.set(str(r.documentId), list);
  }
  return out;
}

async function documentsOf(run: Run, ids: readonly string[]): Promise<Map<string, StoredDocument>> {
  const rows = ids.length === 1 ? await run(READ.document, { documentId: ids[0]! }) : await run(READ.documentsById, { ids: [...ids] });
  return new Map(rows.map((r) => [str(r.id), toStoredDocument(r)]));
}

/**
 * counts(documentId) as the GraphStore port defines it, but for `documents` (SectionCounts): entities =
 * those its sections mention plus the steps of the procedures they mention; edges = every edge leaving
 * its sections plus those HAS_STEP edges (each procedure's steps once, however many of its sections
 * mention the procedure).
 */
async function countsOf(run: Run, ids: readonly string[]): Promise<Map<string, SectionCounts>> {
  const of = new Map<string, { sections: number; mentions: number; sectionEdges: number; entities: Set<string>; steps: Set<string> }>();
  const entry = (id: string) => {
    let e = of.get(id);
    if (!e) of.set(id, (e = { sections: 0, mentions: 0, sectionEdges: 0, entities: new Set(), steps: new Set() }));
    return e;
  };
  const list = { ids: [...ids] };
  for (const r of await run(READ.edgesOfDocuments, list)) {
    const e = entry(str(r.documentId));
    const n = num(r.n);
    e.sectionEdges += n;
    if (str(r.type) === 'FROM_DOCUMENT') e.sections += n;
    if (str(r.type) === 'MENTIONS') e.mentions += n;
  }
  for (const r of await run(READ.entitiesAndStepsOfDocuments, list)) {
    const e = entry(str(r.documentId));
    e.entities.add(str(r.id));
    if (r.stepId === null || r.stepId === undefined) continue;
    e.entities.add(str(r.stepId));
    e.steps.add(`${str(r.id)}\u0000${str(r.stepId)}`);
  }
  const out = new Map<string, SectionCounts>();
  for (const [id, e] of of) {
    out.set(id, { sections: e.sections, entities: e.entities.size, mentions: e.mentions, edges: e.sectionEdges + e.steps.size });
  }
  return out;
}

/**
 * Parent, neighbours and mentioned entities of distinct section ids (GraphStore.expand). A few ids (a query's
 * evidence): one scalar-keyed branch per id, which does not slow down with the corpus; more (coalesced
 * callers): the UNWIND forms (EXPAND_BY_KEY in ladybug-statements.ts).
 */
export async function expandSections(run: Run, ids: readonly string[]): Promise<SectionExpansion[]> {
  const byKey = ids.length <= EXPAND_BY_KEY.maxIds;
  const rowsOf = (unwind: string, union: (n: number) => string) =>
    byKey ? run(union(ids.length), EXPAND_BY_KEY.params(ids)) : run(unwind, { ids: [...ids] });
  const found = new Set((await run(READ.expandSections, { ids: [...ids] })).map((r) => str(r.id)));
  const parents = newestNeighbour(await rowsOf(READ.expandParents, EXPAND_BY_KEY.parents));
  const previous = newestNeighbour(await rowsOf(READ.expandPrevious, EXPAND_BY_KEY.previous));
  const next = newestNeighbour(await rowsOf(READ.expandNext, EXPAND_BY_KEY.next));
  const entities = entitiesBySection(await rowsOf(READ.expandEntities, EXPAND_BY_KEY.entities));
  return expansionsOf(ids, found, { parents, previous, next, entities });
}

/**
 * expand's neighbour rows → per section, one neighbour: of the newest generation (a section of the previous
 * version keeps its edges until the vector stage removes it), then the lowest ordinal.
 */
function newestNeighbour(rows: readonly Row[]): Map<string, { id: string; title: string }> {
  const best = new Map<string, { id: string; title: string; ordinal: number; generation: number }>();
  for (const r of rows) {
    const seen = best.get(str(r.id));
    const [ordinal, generation] = [num(r.ordinal), num(r.generation)];
    if (!seen || generation > seen.generation || (generation === seen.generation && ordinal < seen.ordinal)) {
      best.set(str(r.id), { id: str(r.otherId), title: str(r.otherTitle), ordinal, generation });
    }
  }
  return new Map([...best].map(([id, n]) => [id, { id: n.id, title: n.title }]));
}

/** expand's entity rows → per section, its entities most mentioned first, then by name and id; kinds off the allowlist dropped. */
function entitiesBySection(rows: readonly Row[]): Map<string, SectionExpansion['entities'][number][]> {
  const bySection = new Map<string, { id: string; kind: EntityKind; name: string; count: number }[]>();
  for (const r of rows) {
    const kind = str(r.kind);
    if (!isEntityKind(kind)) continue;
    const list = bySection.get(str(r.id)) ?? [];
    list.push({ id: str(r.entityId), kind, name: str(r.name), count: num(r.count) });
    bySection.set(str(r.id), list);
  }
  const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return new Map([...bySection].map(([id, list]) => [
    id,
    list.sort((a, b) => b.count - a.count || order(a.name, b.name) || order(a.id, b.id)).map((e) => ({ id: e.id, kind: e.kind, name: e.name })),
  ]));
}
