/**
 * LadybugGraphStore under concurrency, on a real database: per-document reads issued together are answered
 * by one batched statement per kind with exactly the answers lone reads give, and concurrent markCompleted /
 * removeSectionsExcept calls share one transaction while keeping per-call outcomes. Statements are counted
 * by wrapping LadybugSession's run and query (the database is real; only the counting is added).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { GraphDocumentVersion } from '../../src/domain/model.js';
import { LadybugGraphStore } from '../../src/adapters/graph/ladybug-graph-store.js';
import { LadybugSession } from '../../src/adapters/graph/ladybug-session.js';
import { EXPAND_BY_KEY, MAINTAIN, READ, WRITE } from '../../src/adapters/graph/ladybug-statements.js';
import { PermanentError, PipelineError } from '../../src/errors/errors.js';
import { buildVersion, expectedCounts, type SectionSpec } from '../contract/graph-store.contract.js';

const OPTIONS = { bufferPoolBytes: 64 * 1024 * 1024, maxDbBytes: 2 ** 32 };

/** Counts statements (run) and transaction control (query) while installed; `fail` makes one statement throw. */
function spy() {
  const run = LadybugSession.prototype.run;
  const query = LadybugSession.prototype.query;
  const runs: string[] = [];
  const queries: string[] = [];
  const state = { fail: null as string | null };
  LadybugSession.prototype.run = function (this: LadybugSession, cypher, params) {
    runs.push(cypher);
    if (cypher === state.fail) return Promise.reject(new Error('injected statement failure'));
    return run.call(this, cypher, params);
  };
  LadybugSession.prototype.query = function (this: LadybugSession, cypher) {
    queries.push(cypher);
    return query.call(this, cypher);
  };
  return {
    runs,
    state,
    times: (cypher: string) => runs.filter((c) => c === cypher).length,
    begins: () => queries.filter((q) => /^BEGIN/.test(q)).length,
    reset: () => { runs.length = 0; queries.length = 0; },
    restore: () => {
      LadybugSession.prototype.run = run;
      LadybugSession.prototype.query = query;
    },
  };
}

describe('LadybugGraphStore: coalesced reads and grouped small writes', function () {
  this.timeout(60_000);
  let dir: string;
  let store: LadybugGraphStore;
  let calls: ReturnType<typeof spy> | undefined;
  const version = (n: number, sections: SectionSpec[], generation = 1) =>
    buildVersion({ tag: 'grp', uri: `cli://grp/${n}.md`, generation, sections });
  const guide = (n: number): GraphDocumentVersion =>
    version(n, [
      { path: ['Guide'], commands: ['redis-cli', `tool-${n}`] },
      { path: ['Guide', 'Install'], commands: ['redis-server', 'redis-cli', 'redis-cli'], procedure: { name: 'Install', steps: ['download', 'build', 'run'] } },
      { path: ['Guide', 'Configure'], parameters: ['maxmemory', `--port-${n}`] },
      ...Array.from({ length: n }, (_, k) => ({ path: ['Guide', `Extra ${k}`], procedure: { name: 'Install', steps: ['again'] } })),
    ]);
  const hashesOf = (v: GraphDocumentVersion) =>
    [...v.sections]
      .sort((a, b) => a.ordinal - b.ordinal || (a.id < b.id ? -1 : 1))
      .map((s) => ({ id: s.id, contentHash: s.contentHash, generation: v.document.generation }));

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ladybug-grouping-'));
    store = await LadybugGraphStore.open(dir, OPTIONS);
  });
  afterEach(async () => {
    calls?.restore();
    calls = undefined;
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers concurrent sectionHashes/getDocument/counts with one statement per kind (counts sharing the document read), exactly as lone reads', async () => {
    const docs = [1, 2, 3, 4].map(guide);
    // A document that links to another one and to its own section, and one whose sections were all removed.
    const linked = version(5, [{ path: ['Refs'], refDocuments: [docs[0]!.document.id, 'nowhere'] }, { path: ['Refs', 'Self'] }]);
    const linkedWithSelf = { ...linked, references: [...linked.references, { sectionId: linked.sections[1]!.id, targetKind: 'Section' as const, targetId: linked.sections[0]!.id }] };
    const emptied = guide(6);
    for (const v of [...docs, linkedWithSelf, emptied]) await store.writeVersion(v);
    await store.removeSectionsExcept(emptied.document.id, []);
    await store.markCompleted(docs[1]!.document.id, 1, 'pv-1');
    const ids = [...docs, linkedWithSelf, emptied].map((v) => v.document.id);
    ids.splice(2, 0, 'absent-1');
    ids.push('absent-2', docs[0]!.document.id); // a document asked for twice in one batch

    // Lone reads, one at a time: each is a batch of one and uses the per-document statements.
    const sequential: unknown[] = [];
    for (const id of ids) sequential.push([await store.sectionHashes(id), await store.getDocument(id), await store.counts(id)]);

    calls = spy();
    const concurrent = await Promise.all(ids.map((id) => Promise.all([store.sectionHashes(id), store.getDocument(id), store.counts(id)])));
    expect(concurrent).to.deep.equal(sequential);
    // One statement per kind for all of them, none per document; counts share the document read (theirs:
    // edges, entities with their steps), so getDocument and counts together read the documents once.
    expect(calls.times(READ.sectionHashesOfDocuments)).to.equal(1);
    expect(calls.times(READ.sectionHashes)).to.equal(0);
    expect(calls.times(READ.document)).to.equal(0);
    expect(calls.times(READ.documentsById)).to.equal(1);
    expect(calls.runs, calls.runs.join('\n---\n')).to.have.length(1 + 1 + 2);

    // And both agree with what was written (not only with each other).
    const byId = new Map(ids.map((id, i) => [id, concurrent[i]!]));
    for (const v of docs) {
      const [hashes, doc, counts] = byId.get(v.document.id)!;
      expect(hashes).to.deep.equal(hashesOf(v));
      expect(doc).to.deep.include({ id: v.document.id, title: v.document.title, generation: 1 });
      expect(counts).to.deep.equal(expectedCounts(v));
    }
    expect(byId.get(docs[1]!.document.id)![1]).to.include({ completedGeneration: 1, pipelineVersion: 'pv-1' });
    expect(byId.get(linked.document.id)![2]).to.deep.equal(expectedCounts(linkedWithSelf, new Set([docs[0]!.document.id])));
    expect(byId.get(emptied.document.id)).to.deep.equal([[], byId.get(emptied.document.id)![1], { documents: 1, sections: 0, entities: 0, mentions: 0, edges: 0 }]);
    for (const absent of ['absent-1', 'absent-2']) {
      expect(byId.get(absent)).to.deep.equal([[], null, { documents: 0, sections: 0, entities: 0, mentions: 0, edges: 0 }]);
    }
    // Two callers of one document get equal answers, not one shared object.
    const [first, again] = [concurrent[0]!, concurrent[concurrent.length - 1]!];
    expect(again).to.deep.equal(first);
    expect(again[0]).to.not.equal(first[0]);
    expect(again[2]).to.not.equal(first[2]);
  });

  it('answers a coalesced read accepted before close', async () => {
    const v = guide(1);
    await store.writeVersion(v);
    const reads = Promise.all([store.sectionHashes(v.document.id), store.counts(v.document.id)]);
    await store.close();
    expect(await reads).to.deep.equal([hashesOf(v), expectedCounts(v)]);
    expect(String(await store.getDocument(v.document.id).catch((e: unknown) => e))).to.match(/STORE_CLOSED/);
  });

  it('groups concurrent markCompleted calls into one transaction; an absent document fails alone', async () => {
    const [a, b, c] = [guide(1), guide(2), guide(3)];
    for (const v of [a, b, c]) await store.writeVersion(v);
    await store.markCompleted(c.document.id, 5, 'pv-5');
    calls = spy();
    const busy = store.writeVersion(guide(4)); // the writer is busy, so the calls below queue up as one batch
    const outcomes = await Promise.allSettled([
      store.markCompleted(a.document.id, 3, 'a-3'),
      store.markCompleted('absent', 1, 'x'),
      store.markCompleted(a.document.id, 2, 'a-2'), // lower than a-3 before it: changes nothing
      store.markCompleted(b.document.id, 1, 'b-first'),
      store.markCompleted(b.document.id, 1, 'b-second'), // same generation later: it wins, as one by one
      store.markCompleted(c.document.id, 4, 'c-4'), // lower than what is stored
    ]);
    await busy;
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const error = (outcomes[1] as PromiseRejectedResult).reason as PermanentError;
    expect(error).to.be.instanceOf(PermanentError);
    expect(error.code).to.equal('NOT_FOUND');
    expect(calls.begins(), 'the write of guide(4), then one transaction for all six').to.equal(2);
    expect(calls.times(MAINTAIN.markCompletedRows)).to.equal(1);
    expect(await store.getDocument(a.document.id)).to.include({ completedGeneration: 3, pipelineVersion: 'a-3' });
    expect(await store.getDocument(b.document.id)).to.include({ completedGeneration: 1, pipelineVersion: 'b-second' });
    expect(await store.getDocument(c.document.id)).to.include({ completedGeneration: 5, pipelineVersion: 'pv-5' });
    expect(await store.getDocument('absent')).to.equal(null);
  });

  it('fails every call of a grouped transaction that fails, writes none of them, and stays usable', async () => {
    const [a, b] = [guide(1), guide(2)];
    for (const v of [a, b]) await store.writeVersion(v);
    calls = spy();
    calls.state.fail = MAINTAIN.deleteSectionsById;
    const busy = store.writeVersion(guide(3));
    const outcomes = await Promise.allSettled([
      store.removeSectionsExcept(a.document.id, []),
      store.removeSectionsExcept(b.document.id, []),
    ]);
    await busy;
    expect(calls.begins()).to.equal(2);
    for (const o of outcomes) {
      expect(o.status).to.equal('rejected');
      const reason = (o as PromiseRejectedResult).reason as PipelineError;
      expect(reason).to.be.instanceOf(PipelineError);
      expect(reason.code).to.equal('STORE_WRITE_FAILED');
    }
    expect(await store.counts(a.document.id)).to.deep.equal(expectedCounts(a));
    calls.state.fail = null;
    expect(await store.removeSectionsExcept(a.document.id, [])).to.equal(a.sections.length);
  });

  it('groups concurrent removeSectionsExcept calls into one transaction and removes exactly the right sections', async () => {
    const [a, b, c] = [guide(1), guide(2), guide(3)];
    for (const v of [a, b, c]) await store.writeVersion(v);
    const ids = (v: GraphDocumentVersion) => v.sections.map((s) => s.id);
    calls = spy();
    const busy = store.writeVersion(guide(4));
    const removed = await Promise.all([
      store.removeSectionsExcept(a.document.id, ids(a).slice(0, 2)),
      store.removeSectionsExcept(b.document.id, []),
      store.removeSectionsExcept(c.document.id, ids(c)),
      store.removeSectionsExcept(a.document.id, ids(a).slice(0, 3)), // after the first: nothing more to remove
      store.removeSectionsExcept('absent', ['x']),
    ]);
    await busy;
    expect(removed).to.deep.equal([a.sections.length - 2, b.sections.length, 0, 0, 0]);
    expect(calls.begins(), 'the write of guide(4), then one transaction for all five').to.equal(2);
    expect((await store.sectionHashes(a.document.id)).map((h) => h.id)).to.deep.equal(ids(a).slice(0, 2));
    expect(await store.sectionHashes(b.document.id)).to.deep.equal([]);
    expect(await store.sectionHashes(c.document.id)).to.deep.equal(hashesOf(c));
    expect(await store.counts(c.document.id)).to.deep.equal(expectedCounts(c));
    // The kept sections of a lost the edges into the removed ones (NEXT_CHUNK, HAS_SUBSECTION).
    const kept = new Set(ids(a).slice(0, 2));
    const mentions = a.mentions.filter((m) => kept.has(m.sectionId));
    const mentioned = new Set(mentions.map((m) => m.entityId));
    const steps = a.steps.filter((s) => mentioned.has(s.procedureId));
    const entities = new Set([...mentioned, ...steps.map((s) => s.stepId)]);
    const rest = { ...a, sections: a.sections.filter((s) => kept.has(s.id)), mentions, steps, entities: a.entities.filter((e) => entities.has(e.id)) };
    expect(await store.counts(a.document.id)).to.deep.equal(expectedCounts(rest));
  });
  it('creates a document of many sections a column at a time, small ones of the same batch as rows, each stored exactly', async () => {
    const many = (n: number, count: number, path: (k: number) => string[]) =>
      version(n, Array.from({ length: count }, (_, k) => ({ path: path(k), text: `part ${k} of ${n}: ${'word '.repeat(k % 7)}`, commands: [`tool-${k % 5}`] })));
    const big = many(100, 1_500, (k) => ['Big', `Part ${k}`]); // two chunks of columns
    // A document without headings split into parts: every heading path empty, a column of empty lists only.
    const headless = many(101, 70, (k) => [`Part ${k}`]);
    const bare = { ...headless, sections: headless.sections.map((s) => ({ ...s, headingPath: [], title: '' })) };
    const small = many(102, 3, (k) => ['Small', `S${k}`]); // below the threshold: struct rows
    calls = spy();
    await Promise.all([big, bare, small].map((v) => store.writeVersion(v)));
    expect(calls.times(WRITE.createSectionsOfDocument), 'the two large documents, a statement per 1,000 sections').to.equal(3);
    expect(calls.times(WRITE.createSections), 'the small one').to.equal(1);
    for (const v of [big, bare, small]) {
      const stored = await store.sectionsOf(v.document.id);
      const expected = v.sections.map((s) => ({
        id: s.id, documentId: v.document.id, ordinal: s.ordinal, level: s.level, title: s.title, headingPath: s.headingPath,
        anchor: s.anchor, text: s.text, contentHash: s.contentHash, generation: v.document.generation,
      }));
      expect(stored.map((s) => ({ ...s })).sort((a, b) => a.ordinal - b.ordinal)).to.deep.equal(expected);
      expect(await store.counts(v.document.id)).to.deep.equal(expectedCounts(v));
    }
  });
  it('writes without MERGE: creates what is new, updates stored documents, sections and entities in place, and leaves unchanged shared entities alone', async () => {
    const first = guide(1);
    await store.writeVersion(first);
    calls = spy();
    // A new document sharing redis-cli, redis-server and maxmemory with the first: stored as they are.
    const second = guide(2);
    await store.writeVersion(second);
    expect(calls.times(WRITE.createDocuments)).to.equal(1);
    expect(calls.times(WRITE.createEntities), 'its new entities').to.equal(1);
    expect(calls.times(WRITE.updateEntities), 'shared entities unchanged: not rewritten').to.equal(0);
    expect(calls.runs.filter((c) => /\bMERGE\b/.test(c)), 'no MERGE (planned as a scan of the whole table)').to.deep.equal([]);
    expect(await store.counts(second.document.id)).to.deep.equal(expectedCounts(second));

    // The first again, edited: one body changed, one section added, a command now spelt `Redis-CLI` (same id).
    calls.reset();
    const edited = version(1, [
      { path: ['Guide'], commands: ['Redis-CLI', 'tool-1'], text: 'a new introduction' },
      { path: ['Guide', 'Install'], commands: ['redis-server', 'Redis-CLI', 'Redis-CLI'], procedure: { name: 'Install', steps: ['download', 'build', 'run'] } },
      { path: ['Guide', 'Configure'], parameters: ['maxmemory', '--port-1'] },
      { path: ['Guide', 'Extra 0'], procedure: { name: 'Install', steps: ['again'] } },
      { path: ['Guide', 'Upgrade'], commands: ['redis-server'] },
    ], 2);
    expect(edited.entities.map((e) => e.id)).to.include(first.entities.find((e) => e.name === 'redis-cli')!.id);
    await store.writeVersion(edited);
    expect(calls.times(WRITE.createDocuments)).to.equal(0);
    expect(calls.times(WRITE.updateDocuments)).to.equal(1);
    expect(calls.times(WRITE.updateSections), 'the four stored sections').to.equal(1);
    expect(calls.times(WRITE.createSections), 'the added one').to.equal(1);
    expect(calls.times(WRITE.updateEntities), 'the renamed command only').to.equal(1);
    const stored = await store.sectionsOf(edited.document.id);
    expect(stored.map((s) => [s.id, s.contentHash, s.generation]).sort()).to.deep.equal(edited.sections.map((s) => [s.id, s.contentHash, 2]).sort());
    expect(stored.find((s) => s.title === 'Guide')?.text).to.include('a new introduction');
    expect(await store.counts(edited.document.id)).to.deep.equal(expectedCounts(edited));
    const graph = await store.documentGraph(edited.document.id);
    expect(graph.entities.filter((e) => e.kind === 'Command').map((e) => e.name).sort()).to.include('Redis-CLI').and.not.include('redis-cli');
    expect((await store.getDocument(edited.document.id))?.generation).to.equal(2);
  });
  it('expands a few sections by scalar keys and many by UNWIND, with the same answers', async () => {
    const v = guide(9); // 12 sections: parents, neighbours, shared and scoped entities
    await store.writeVersion(v);
    const ids = [...v.sections].sort((a, b) => a.ordinal - b.ordinal).map((s) => s.id);
    expect(ids.length).to.be.greaterThan(EXPAND_BY_KEY.maxIds);
    calls = spy();
    const few = await store.expand(ids.slice(0, 5));
    expect(calls.times(EXPAND_BY_KEY.next(5)), 'a branch per id').to.equal(1);
    expect(calls.times(READ.expandNext)).to.equal(0);
    calls.reset();
    const all = await store.expand(ids);
    expect(calls.times(READ.expandNext), 'more than maxIds: UNWIND').to.equal(1);
    expect(all.slice(0, 5)).to.deep.equal(few);
    expect(few.map((e) => e.next?.id ?? null)).to.deep.equal(ids.slice(1, 6));
    expect(few.slice(1).map((e) => e.previous?.id)).to.deep.equal(ids.slice(0, 4));
    expect(few[1]!.entities.map((e) => e.name), 'most mentioned first').to.deep.equal(['redis-cli', 'Install', 'redis-server']);
  });
});
