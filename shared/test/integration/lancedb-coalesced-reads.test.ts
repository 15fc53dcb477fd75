/**
 * LanceDB reads issued by concurrent jobs are coalesced (lancedb-vector-store.ts): per-document lookups
 * (`points`, `existingHashes`) become one `document_id IN (…)` query and vector searches with the same tag
 * and limit one multi-vector search. On a real LanceDB table: every caller gets exactly what it gets when
 * asking alone, and the number of table queries shows the merging (these tests fail without it).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as lancedb from '@lancedb/lancedb';
import { expect } from 'chai';
import { LanceVectorStore } from '../../src/adapters/vector/lancedb-vector-store.js';
import type { VectorHit } from '../../src/domain/model.js';
import { PipelineError } from '../../src/errors/errors.js';
import { point } from '../contract/vector-store.contract.js';

const DIMS = 16;

/** A deterministic pseudo-random vector (no ties between different seeds). */
function vectorOf(seed: number): number[] {
  return Array.from({ length: DIMS }, (_, i) => {
    const x = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453;
    return x - Math.floor(x) - 0.5;
  });
}

/**
 * Counts the table's `query()` and `vectorSearch()` calls — each is one LanceDB query — by wrapping the
 * store's table handle (the store and its writer hold that one object).
 */
function countQueries(store: LanceVectorStore): { query: number; vectorSearch: number; failWith?: Error } {
  const table = (store as unknown as { table: lancedb.Table }).table;
  const counts: { query: number; vectorSearch: number; failWith?: Error } = { query: 0, vectorSearch: 0 };
  const query = table.query.bind(table);
  const vectorSearch = table.vectorSearch.bind(table);
  table.query = () => {
    counts.query++;
    if (counts.failWith) throw counts.failWith;
    return query();
  };
  table.vectorSearch = (vector) => {
    counts.vectorSearch++;
    return vectorSearch(vector);
  };
  return counts;
}

function expectSameHits(actual: readonly VectorHit[], lone: readonly VectorHit[], what: string): void {
  expect(actual.map((h) => h.id), what).to.deep.equal(lone.map((h) => h.id));
  actual.forEach((h, i) => {
    expect(h.score, `${what} #${i}`).to.be.closeTo(lone[i]!.score, 1e-6);
    expect({ ...h, score: 0 }).to.deep.equal({ ...lone[i]!, score: 0 });
  });
}

describe('LanceVectorStore coalesced reads (real LanceDB)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: LanceVectorStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lancedb-coalesce-'));
    store = await LanceVectorStore.open(dir, DIMS);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('points and existingHashes', () => {
    const docs = Array.from({ length: 5 }, () => randomUUID());
    const absent = randomUUID();

    beforeEach(async () => {
      // Written in several batches (several table fragments); docs[3] is partly and docs[4] wholly of
      // another embedding version; ids are random, so table order is not id order.
      let seed = 0;
      for (const [d, documentId] of docs.entries()) {
        await store.upsert(
          Array.from({ length: 3 + d }, (_, k) =>
            point({
              documentId,
              tag: 'coalesce',
              embeddingVersion: d === 4 || (d === 3 && k % 2 === 0) ? 'emb-v2' : 'emb-v1',
              generation: 1 + (k % 3),
              vector: vectorOf(seed++),
            }),
          ),
        );
      }
    });

    it('answers concurrent callers with what each gets alone, in one IN (…) query', async () => {
      const asked = [...docs, absent];
      const alone = [];
      for (const documentId of asked) {
        alone.push({
          points: await store.points(documentId),
          v1: await store.existingHashes(documentId, 'emb-v1'),
          v2: await store.existingHashes(documentId, 'emb-v2'),
        });
      }
      // The lone answers are the per-document answers the port promises: sorted by id, filtered by version.
      expect(alone[1]!.points.map((p) => p.id)).to.deep.equal(alone[1]!.points.map((p) => p.id).sort());
      expect(alone[3]!.points).to.have.length(6);
      expect([...alone[3]!.v1.keys()].sort()).to.deep.equal(alone[3]!.points.filter((p) => p.embeddingVersion === 'emb-v1').map((p) => p.id));
      expect(alone[3]!.v2.size).to.equal(3);
      expect(alone[4]!.v1.size).to.equal(0);
      expect(alone[5]).to.deep.equal({ points: [], v1: new Map(), v2: new Map() });

      const counts = countQueries(store);
      const together = await Promise.all(
        asked.map(async (documentId) => {
          const [points, v1, v2] = await Promise.all([
            store.points(documentId),
            store.existingHashes(documentId, 'emb-v1'),
            store.existingHashes(documentId, 'emb-v2'),
          ]);
          return { points, v1, v2 };
        }),
      );
      expect(together).to.deep.equal(alone);
      expect(counts.query, 'table queries for 18 concurrent lookups').to.equal(1);
    });

    it('merges lookups issued while one runs into the next query', async () => {
      const counts = countQueries(store);
      const first = store.points(docs[0]!);
      await new Promise((r) => setImmediate(r)); // the first lookup has gone out
      const later = docs.slice(1).map((d) => store.existingHashes(d, 'emb-v1'));
      await Promise.all([first, ...later]);
      expect(counts.query).to.equal(2);
    });

    it('sees a write as soon as the upsert resolves', async () => {
      const p = point({ documentId: docs[0]!, tag: 'coalesce', embeddingVersion: 'emb-v1', vector: vectorOf(99) });
      await store.upsert([p]);
      const [after, hashes] = await Promise.all([store.points(docs[0]!), store.existingHashes(docs[0]!, 'emb-v1')]);
      expect(after.map((x) => x.id)).to.include(p.id);
      expect(hashes.get(p.id)).to.equal(p.contentHash);
    });

    it('fails every caller of a failed query with STORE_UNAVAILABLE, named after its own method', async () => {
      const counts = countQueries(store);
      counts.failWith = new Error('disk on fire');
      const results = await Promise.allSettled([store.points(docs[0]!), store.existingHashes(docs[1]!, 'emb-v1')]);
      expect(counts.query).to.equal(1);
      const [points, hashes] = results.map((r) => (r.status === 'rejected' ? (r.reason as PipelineError) : undefined));
      expect(points).to.be.instanceOf(PipelineError);
      expect(points!.code).to.equal('STORE_UNAVAILABLE');
      expect(points!.message).to.equal('lancedb points failed: disk on fire');
      expect(hashes!.message).to.equal('lancedb existingHashes failed: disk on fire');
      delete counts.failWith;
      expect(await store.points(docs[0]!)).to.have.length(3);
    });
  });

  describe('searchVector', () => {
    beforeEach(async () => {
      // 240 points in two tags, in several batches; a few share one vector, so some scores tie.
      for (let batch = 0; batch < 6; batch++) {
        const documentId = randomUUID();
        await store.upsert(
          Array.from({ length: 40 }, (_, k) => {
            const n = batch * 40 + k;
            return point({ documentId, tag: n % 3 === 0 ? 'a' : 'b', vector: vectorOf(n % 37 === 5 ? 5 : n) });
          }),
        );
      }
    });

    const queries = Array.from({ length: 12 }, (_, q) => vectorOf(1000 + q));
    queries.push(vectorOf(5)); // the shared vector: tied best hits

    async function lone(options: { tag?: string; limit: number }, asked = queries): Promise<VectorHit[][]> {
      const out = [];
      for (const q of asked) out.push(await store.searchVector(q, options));
      return out;
    }

    it('answers concurrent searches with the same tag and limit exactly as lone searches, in one query', async () => {
      for (const options of [{ tag: 'a', limit: 5 }, { limit: 7 }, { tag: 'b', limit: 200 }]) {
        const expected = await lone(options);
        expect(expected[0], JSON.stringify(options)).to.have.length(Math.min(options.limit, options.tag === 'b' ? 160 : 240));
        const counts = countQueries(store);
        const together = await Promise.all(queries.map((q) => store.searchVector(q, options)));
        expect(counts.vectorSearch, JSON.stringify(options)).to.equal(1);
        together.forEach((hits, i) => expectSameHits(hits, expected[i]!, `${JSON.stringify(options)} query ${i}`));
        if (options.tag) expect(together.flat().every((h) => h.tag === options.tag)).to.equal(true);
      }
    });

    it('never mixes different tags or limits into one query', async () => {
      const mixes = [{ tag: 'a', limit: 5 }, { tag: 'b', limit: 5 }, { tag: 'a', limit: 3 }, { limit: 5 }, { tag: 'nobody', limit: 5 }];
      const asked = queries.slice(-6); // 5 × 6 searches: one batch (NEAREST_BATCH is 32), so one query per (tag, limit)
      const expected = new Map<string, VectorHit[][]>();
      for (const options of mixes) expected.set(JSON.stringify(options), await lone(options, asked));
      const counts = countQueries(store);
      const calls = mixes.flatMap((options) => asked.map((q, i) => ({ options, i, hits: store.searchVector(q, options) })));
      for (const call of calls) {
        expectSameHits(await call.hits, expected.get(JSON.stringify(call.options))![call.i]!, `${JSON.stringify(call.options)} query ${call.i}`);
      }
      expect(counts.vectorSearch).to.equal(mixes.length);
    });
  });
});
