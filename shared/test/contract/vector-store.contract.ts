/**
 * The VectorStore contract (shared/src/ports/vector-store.ts), run against every implementation
 * (LanceDB always; Qdrant when a server answers).
 *
 * `open` returns a ready store; it need not be empty: every test works on documents and a tag of its own
 * (random UUIDs) and measures global counts as deltas, so the suite also holds on a shared server.
 * Vectors are built from the store's own `dimensions` (at least 8), so any size works.
 *
 * Lexical leg requirements beyond the port's doc comment, shared by every implementation: the section's
 * title / heading path is searchable as well as its text, and user query text (quotes, brackets,
 * operators, colons) never makes searchText throw.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { VectorPoint } from '../../src/domain/model.js';
import { PipelineError } from '../../src/errors/errors.js';
import type { VectorStore } from '../../src/ports/vector-store.js';

/** A unit vector along axis `a` (mod dims), optionally rotated towards axis `b` by `t` radians. */
export function axisVector(dims: number, a: number, b?: number, t = 0): number[] {
  const v = new Array<number>(dims).fill(0);
  v[a % dims] = Math.cos(t);
  if (b !== undefined) v[b % dims] = (v[b % dims] ?? 0) + Math.sin(t);
  return v;
}

export interface PointSpec {
  readonly id?: string;
  readonly documentId: string;
  readonly tag: string;
  readonly title?: string;
  readonly headingPath?: readonly string[];
  readonly text?: string;
  readonly contentHash?: string;
  readonly generation?: number;
  readonly embeddingVersion?: string;
  readonly vector: readonly number[] | Float32Array;
}

export function point(spec: PointSpec): VectorPoint {
  const id = spec.id ?? randomUUID();
  const title = spec.title ?? `Section ${id.slice(0, 8)}`;
  const text = spec.text ?? `Body of ${title}.`;
  return {
    id,
    documentId: spec.documentId,
    sourceUri: `file:///contract/${spec.documentId}.md`,
    tag: spec.tag,
    title,
    headingPath: spec.headingPath ?? ['Contract document', title],
    text,
    contentHash: spec.contentHash ?? `hash-of-${text.length}-${id}`,
    generation: spec.generation ?? 1,
    embeddingVersion: spec.embeddingVersion ?? 'contract-v1',
    vector: spec.vector,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, it resolved');
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await rejection(promise);
  expect(error, String(error)).to.be.instanceOf(PipelineError);
  expect((error as PipelineError).code).to.equal(code);
}

const byId = <T extends { id: string }>(items: readonly T[]): Map<string, T> => new Map(items.map((i) => [i.id, i]));

export function vectorStoreContract(name: string, open: () => Promise<VectorStore>): void {
  describe(`VectorStore contract: ${name}`, function () {
    let store: VectorStore;
    let dims: number;
    let tag: string;
    let doc: string;

    beforeEach(async function () {
      store = await open();
      dims = store.dimensions;
      expect(dims, 'the contract needs at least 8 dimensions').to.be.at.least(8);
      tag = `contract-${randomUUID()}`;
      doc = randomUUID();
    });

    afterEach(async function () {
      await store?.close();
    });

    describe('upsert', function () {
      it('writes every new point and reports how many it wrote', async function () {
        const before = await store.count();
        const points = [0, 1, 2].map((k) => point({ documentId: doc, tag, vector: axisVector(dims, k) }));
        expect(await store.upsert(points)).to.equal(3);
        expect(await store.count(doc)).to.equal(3);
        expect((await store.count()) - before).to.equal(3);
        expect(await store.upsert([])).to.equal(0);
      });

      it('is idempotent: the same points twice leave the same rows', async function () {
        const points = [0, 1, 2, 3].map((k) => point({ documentId: doc, tag, vector: axisVector(dims, k) }));
        await store.upsert(points);
        const first = await store.points(doc);
        const written = await store.upsert(points);
        expect(written).to.be.within(0, points.length);
        expect(await store.count(doc)).to.equal(4);
        const second = await store.points(doc);
        expect(second.map((p) => p.id).sort()).to.deep.equal(first.map((p) => p.id).sort());
        expect(byId(second)).to.deep.equal(byId(first));
      });

      it('stores the payload that searches return', async function () {
        const p = point({
          documentId: doc,
          tag,
          title: 'Persistence',
          headingPath: ['Redis guide', 'Operations', 'Persistence'],
          text: 'Snapshots are written with BGSAVE.',
          vector: axisVector(dims, 5),
        });
        await store.upsert([p]);
        const [hit] = await store.searchVector([...p.vector], { limit: 1, tag });
        expect(hit).to.include({
          id: p.id,
          documentId: doc,
          sourceUri: p.sourceUri,
          tag,
          title: 'Persistence',
          text: 'Snapshots are written with BGSAVE.',
        });
        expect(hit!.headingPath).to.deep.equal(['Redis guide', 'Operations', 'Persistence']);
        const [stored] = await store.points(doc);
        expect(stored).to.deep.equal({
          id: p.id,
          contentHash: p.contentHash,
          generation: 1,
          embeddingVersion: 'contract-v1',
        });
      });
    });

    describe('generation fence', function () {
      it('keeps a stored point whose generation is newer than the offered one', async function () {
        const id = randomUUID();
        const newer = point({ id, documentId: doc, tag, generation: 5, contentHash: 'h5', text: 'fresh quasar text', vector: axisVector(dims, 1) });
        const older = point({ id, documentId: doc, tag, generation: 4, contentHash: 'h4', text: 'stale pulsar text', vector: axisVector(dims, 2) });
        expect(await store.upsert([newer])).to.equal(1);
        expect(await store.upsert([older])).to.equal(0);
        expect(await store.points(doc)).to.deep.equal([{ id, contentHash: 'h5', generation: 5, embeddingVersion: 'contract-v1' }]);
        expect(await store.searchText('pulsar', { limit: 5, tag })).to.deep.equal([]);
        expect((await store.searchText('quasar', { limit: 5, tag })).map((h) => h.id)).to.deep.equal([id]);
        const [hit] = await store.searchVector(axisVector(dims, 1), { limit: 1, tag });
        expect(hit!.score).to.be.closeTo(1, 1e-4);
      });

      it('lets a newer (or equal) generation replace the stored point', async function () {
        const id = randomUUID();
        await store.upsert([point({ id, documentId: doc, tag, generation: 1, contentHash: 'h1', vector: axisVector(dims, 1) })]);
        expect(await store.upsert([point({ id, documentId: doc, tag, generation: 2, contentHash: 'h2', vector: axisVector(dims, 3) })])).to.equal(1);
        expect((await store.points(doc))[0]).to.include({ generation: 2, contentHash: 'h2' });
        expect(await store.upsert([point({ id, documentId: doc, tag, generation: 2, contentHash: 'h2b', vector: axisVector(dims, 4) })])).to.equal(1);
        expect((await store.points(doc))[0]).to.include({ generation: 2, contentHash: 'h2b' });
        expect(await store.count(doc)).to.equal(1);
        const [hit] = await store.searchVector(axisVector(dims, 4), { limit: 1, tag });
        expect(hit!.id).to.equal(id);
        expect(hit!.score).to.be.closeTo(1, 1e-4);
      });

      it('keeps the highest generation when one batch offers an id several times', async function () {
        const id = randomUUID();
        const versions = [3, 7, 5].map((g) =>
          point({ id, documentId: doc, tag, generation: g, contentHash: `h${g}`, vector: axisVector(dims, g) }),
        );
        expect(await store.upsert(versions)).to.equal(1);
        expect(await store.points(doc)).to.deep.equal([{ id, contentHash: 'h7', generation: 7, embeddingVersion: 'contract-v1' }]);
      });
    });

    describe('existingHashes and points', function () {
      it('returns id → content hash of the stored points of that embedding version only', async function () {
        const a = [0, 1].map((k) => point({ documentId: doc, tag, embeddingVersion: 'model-a', vector: axisVector(dims, k) }));
        const b = [2].map((k) => point({ documentId: doc, tag, embeddingVersion: 'model-b', vector: axisVector(dims, k) }));
        const other = point({ documentId: randomUUID(), tag, embeddingVersion: 'model-a', vector: axisVector(dims, 3) });
        await store.upsert([...a, ...b, other]);
        expect(await store.existingHashes(doc, 'model-a')).to.deep.equal(new Map(a.map((p) => [p.id, p.contentHash])));
        expect(await store.existingHashes(doc, 'model-b')).to.deep.equal(new Map(b.map((p) => [p.id, p.contentHash])));
        expect((await store.existingHashes(doc, 'model-c')).size).to.equal(0);
        expect((await store.existingHashes(randomUUID(), 'model-a')).size).to.equal(0);
        const stored = await store.points(doc);
        expect(stored.map((p) => p.id).sort()).to.deep.equal([...a, ...b].map((p) => p.id).sort());
        expect(byId(stored).get(b[0]!.id)).to.include({ embeddingVersion: 'model-b', contentHash: b[0]!.contentHash });
      });

      it('fullPoints returns every point of the document with its payload and vector as written', async function () {
        const mine = [0, 1].map((k) => point({ documentId: doc, tag, headingPath: ['Doc', `S${k}`], vector: axisVector(dims, k, k + 1, 0.5) }));
        await store.upsert([...mine, point({ documentId: randomUUID(), tag, vector: axisVector(dims, 3) })]);
        const full = await store.fullPoints(doc);
        expect(full.map((p) => p.id)).to.deep.equal(mine.map((p) => p.id).sort());
        for (const p of full) {
          const written = byId(mine).get(p.id)!;
          const { vector, ...payload } = p;
          const { vector: writtenVector, ...writtenPayload } = written;
          expect(payload).to.deep.equal(writtenPayload);
          expect(vector).to.have.length(dims);
          vector.forEach((x, i) => expect(x, `vector[${i}]`).to.be.closeTo(writtenVector[i]!, 1e-6));
        }
        expect(await store.fullPoints(randomUUID())).to.deep.equal([]);
      });

      it('takes vectors as views of one Float32Array (as the vector stage passes them) and stores each as written', async function () {
        const packed = new Float32Array(3 * dims);
        [0, 1, 2].forEach((k) => packed.set(axisVector(dims, k + 7, k + 8, 0.3), k * dims));
        const mine = [0, 1, 2].map((k) => point({ documentId: doc, tag, vector: packed.subarray(k * dims, (k + 1) * dims) }));
        expect(await store.upsert(mine)).to.equal(3);
        for (const p of await store.fullPoints(doc)) {
          const written = byId(mine).get(p.id)!.vector;
          expect(p.vector).to.have.length(dims);
          p.vector.forEach((x, i) => expect(x, `vector[${i}]`).to.be.closeTo(written[i]!, 1e-6));
        }
        const [hit] = await store.searchVector(axisVector(dims, 8, 9, 0.3), { limit: 1, tag });
        expect(hit?.id).to.equal(mine[1]!.id);
        const bad = new Float32Array(dims).fill(0.1);
        bad[3] = Number.NaN;
        await expectCode(store.upsert([point({ documentId: doc, tag, vector: bad })]), 'BAD_EMBEDDING');
        await expectCode(store.upsert([point({ documentId: doc, tag, vector: new Float32Array(dims - 1).fill(0.1) })]), 'BAD_EMBEDDING');
      });

      it('lists more points than a default page size', async function () {
        const points = Array.from({ length: 40 }, (_, k) => point({ documentId: doc, tag, vector: axisVector(dims, k) }));
        await store.upsert(points);
        expect((await store.points(doc)).length).to.equal(40);
        expect((await store.existingHashes(doc, 'contract-v1')).size).to.equal(40);
      });
    });

    describe('deletes', function () {
      it('deleteDocumentExcept removes only that document\'s points that are not kept', async function () {
        const other = randomUUID();
        const mine = [0, 1, 2, 3].map((k) => point({ documentId: doc, tag, vector: axisVector(dims, k) }));
        const theirs = [4, 5].map((k) => point({ documentId: other, tag, vector: axisVector(dims, k) }));
        await store.upsert([...mine, ...theirs]);
        const keep = [mine[0]!.id, mine[2]!.id, theirs[0]!.id, randomUUID()];
        expect(await store.deleteDocumentExcept(doc, keep)).to.equal(2);
        expect((await store.points(doc)).map((p) => p.id).sort()).to.deep.equal([mine[0]!.id, mine[2]!.id].sort());
        expect(await store.count(other)).to.equal(2);
        expect(await store.deleteDocumentExcept(doc, keep)).to.equal(0);
        const hits = await store.searchVector(axisVector(dims, 1), { limit: 10, tag });
        expect(hits.map((h) => h.id)).to.not.include(mine[1]!.id);
      });

      it('deleteDocument removes all of the document\'s points and nothing else', async function () {
        const other = randomUUID();
        await store.upsert([
          ...[0, 1, 2].map((k) => point({ documentId: doc, tag, vector: axisVector(dims, k) })),
          ...[3, 4].map((k) => point({ documentId: other, tag, vector: axisVector(dims, k) })),
        ]);
        const before = await store.count();
        expect(await store.deleteDocument(doc)).to.equal(3);
        expect(await store.count(doc)).to.equal(0);
        expect(await store.count(other)).to.equal(2);
        expect(before - (await store.count())).to.equal(3);
        expect(await store.deleteDocument(doc)).to.equal(0);
        expect(await store.deleteDocument(randomUUID())).to.equal(0);
        expect(await store.deleteDocumentExcept(doc, [])).to.equal(0);
      });

      it('concurrent deletes of several documents each report their own count', async function () {
        const docs = Array.from({ length: 6 }, () => randomUUID());
        await store.upsert(
          docs.flatMap((d, n) => Array.from({ length: n + 1 }, (_, k) => point({ documentId: d, tag, vector: axisVector(dims, k) }))),
        );
        const counts = await Promise.all(docs.map((d, n) => (n % 2 === 0 ? store.deleteDocument(d) : store.deleteDocumentExcept(d, []))));
        expect(counts).to.deep.equal([1, 2, 3, 4, 5, 6]);
        for (const d of docs) expect(await store.count(d)).to.equal(0);
      });
    });

    describe('searchVector', function () {
      it('orders by descending cosine similarity', async function () {
        const angles = [0.9, 0.1, 0.5, 1.3, 0.3];
        const points = angles.map((t) => point({ documentId: doc, tag, vector: axisVector(dims, 0, 1, t) }));
        // Length must not matter for cosine: scale one vector.
        const scaled = point({ documentId: doc, tag, vector: axisVector(dims, 0, 1, 0.2).map((x) => x * 7) });
        await store.upsert([...points, scaled]);
        const hits = await store.searchVector(axisVector(dims, 0), { limit: 10, tag });
        const expected = [...angles.map((t, n) => ({ t, id: points[n]!.id })), { t: 0.2, id: scaled.id }]
          .sort((a, b) => a.t - b.t)
          .map((x) => x.id);
        expect(hits.map((h) => h.id)).to.deep.equal(expected);
        for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).to.be.at.least(hits[i]!.score);
        expect(hits[0]!.score).to.be.closeTo(Math.cos(0.1), 1e-3);
        expect(hits[hits.length - 1]!.score).to.be.closeTo(Math.cos(1.3), 1e-3);
        expect((await store.searchVector(axisVector(dims, 0), { limit: 2, tag })).map((h) => h.id)).to.deep.equal(expected.slice(0, 2));
      });

      it('filters by tag before ranking, with any characters in the tag', async function () {
        const odd = `${tag} it's "odd" \\ %_`;
        const near = point({ documentId: doc, tag, vector: axisVector(dims, 0) });
        const far = point({ documentId: randomUUID(), tag: odd, vector: axisVector(dims, 0, 1, 1.2) });
        await store.upsert([near, far]);
        expect((await store.searchVector(axisVector(dims, 0), { limit: 1, tag: odd })).map((h) => h.id)).to.deep.equal([far.id]);
        expect((await store.searchVector(axisVector(dims, 0), { limit: 5, tag })).map((h) => h.id)).to.deep.equal([near.id]);
        expect(await store.searchVector(axisVector(dims, 0), { limit: 5, tag: `${tag}' OR '1'='1` })).to.deep.equal([]);
        const unfiltered = await store.searchVector(axisVector(dims, 0), { limit: 1000 });
        expect(unfiltered.map((h) => h.id)).to.include.members([near.id, far.id]);
      });

      it('rejects a query vector of the wrong size', async function () {
        await rejection(store.searchVector(axisVector(dims + 1, 0), { limit: 3, tag }));
      });
    });

    describe('searchText', function () {
      const corpus = [
        ['Installation', 'Install the server package with your package manager and start the service.'],
        ['Configuration', 'The configuration file sets the port, the bind address and the log level.'],
        ['Persistence', 'Snapshots are written to disk at intervals; the append only file logs every write.'],
        ['Replication', 'A replica connects to the primary and receives a stream of commands.'],
        ['Security', 'Set a password and rename dangerous commands before exposing the port.'],
      ] as const;

      async function seed(documentId = doc, t = tag): Promise<VectorPoint[]> {
        const points = corpus.map(([title, text], k) =>
          point({ documentId, tag: t, title, headingPath: ['Server guide', title], text, vector: axisVector(dims, k) }),
        );
        await store.upsert(points);
        return points;
      }

      it('finds a term just written and ranks the section containing it first', async function () {
        await seed();
        // A first search may build or refresh an index; what follows must still be seen.
        expect((await store.searchText('replica primary', { limit: 3, tag }))[0]!.title).to.equal('Replication');
        const fresh = point({
          documentId: doc,
          tag,
          title: 'Clustering',
          headingPath: ['Server guide', 'Clustering'],
          text: 'Shards are assigned hash slots; the xylophonist tool rebalances slots between shards of the port.',
          vector: axisVector(dims, 7),
        });
        await store.upsert([fresh]);
        const hits = await store.searchText('xylophonist port', { limit: 5, tag });
        expect(hits[0]!.id).to.equal(fresh.id);
        expect(hits.map((h) => h.title)).to.include.members(['Configuration', 'Security']);
        for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).to.be.at.least(hits[i]!.score);
        expect(hits[0]!.score).to.be.greaterThan(hits[hits.length - 1]!.score);
      });

      it('ranks by term relevance and honours the limit', async function () {
        await seed();
        const hits = await store.searchText('snapshots append file disk', { limit: 5, tag });
        expect(hits[0]!.title).to.equal('Persistence');
        const one = await store.searchText('port', { limit: 1, tag });
        expect(one).to.have.length(1);
        expect(['Configuration', 'Security']).to.include(one[0]!.title);
        expect(await store.searchText('zzzznotawordanywhere', { limit: 5, tag })).to.deep.equal([]);
      });

      it('searches the title and heading path, not only the text', async function () {
        await seed();
        const p = point({
          documentId: doc,
          tag,
          title: 'Troubleshooting',
          headingPath: ['Server guide', 'Operations handbook', 'Troubleshooting'],
          text: 'Check the logs first.',
          vector: axisVector(dims, 6),
        });
        await store.upsert([p]);
        expect((await store.searchText('troubleshooting', { limit: 3, tag }))[0]!.id).to.equal(p.id);
        expect((await store.searchText('handbook', { limit: 3, tag }))[0]!.id).to.equal(p.id);
      });

      it('filters by tag', async function () {
        const otherTag = `${tag}-other's`;
        const mine = await seed();
        const theirs = await seed(randomUUID(), otherTag);
        const hits = await store.searchText('replica primary commands', { limit: 10, tag: otherTag });
        expect(hits.length).to.be.greaterThan(0);
        expect(hits.every((h) => h.tag === otherTag)).to.equal(true);
        expect(hits.map((h) => h.id)).to.include(theirs[3]!.id);
        expect(hits.map((h) => h.id)).to.not.include(mine[3]!.id);
      });

      it('never throws on hostile query text', async function () {
        await seed();
        const hostile = [
          "a'b", '"', '(', ')', 'OR', 'AND', 'NOT', ':', 'title:"x"', '*', '?', '\\', '-', '+', '~', '^2', '{}', '[',
          "'; DROP TABLE sections; --", 'port" OR "1"="1', '', '   ', '\u0000', '🙂', 'a'.repeat(5000),
          Array.from({ length: 500 }, (_, i) => `w${i}`).join(' '),
        ];
        for (const q of hostile) {
          const hits = await store.searchText(q, { limit: 5, tag });
          expect(hits, JSON.stringify(q)).to.be.an('array');
        }
        // Punctuation around real words still finds them.
        expect((await store.searchText('"replica" (primary):', { limit: 1, tag }))[0]!.title).to.equal('Replication');
        expect(await store.searchText('port', { limit: 5, tag: `${tag}' OR '1'='1` })).to.deep.equal([]);
      });
    });

    describe('concurrent writers', function () {
      it('50 jobs × 20 points with overlapping ids neither duplicate nor lose a point', async function () {
        this.timeout(120_000);
        const docs = Array.from({ length: 10 }, () => randomUUID());
        const ids = Array.from({ length: 400 }, () => randomUUID());
        const expected = new Map<string, { generation: number; contentHash: string; documentId: string }>();
        const jobs = Array.from({ length: 50 }, (_, j) =>
          Array.from({ length: 20 }, (_, k) => {
            const n = (j * 8 + k) % ids.length;
            const generation = 1 + ((j + k) % 4);
            const p = point({
              id: ids[n]!,
              documentId: docs[n % docs.length]!,
              tag,
              generation,
              contentHash: `h-${n}-g${generation}`,
              text: `point ${n} generation ${generation}`,
              vector: axisVector(dims, n, n + 1, 0.3),
            });
            const seen = expected.get(p.id);
            if (!seen || generation > seen.generation) expected.set(p.id, { generation, contentHash: p.contentHash, documentId: p.documentId });
            return p;
          }),
        );
        const before = await store.count();
        const written = await Promise.all(jobs.map((points) => store.upsert(points)));
        expect(written.reduce((a, b) => a + b, 0)).to.be.at.least(expected.size);

        expect((await store.count()) - before).to.equal(expected.size);
        let total = 0;
        for (const d of docs) {
          const stored = await store.points(d);
          const distinct = new Set(stored.map((p) => p.id));
          expect(distinct.size, 'duplicate ids').to.equal(stored.length);
          expect(await store.count(d)).to.equal(stored.length);
          for (const p of stored) {
            const want = expected.get(p.id);
            expect(want, `unexpected id ${p.id}`).to.not.equal(undefined);
            expect(want!.documentId).to.equal(d);
            expect({ generation: p.generation, contentHash: p.contentHash }).to.deep.equal({
              generation: want!.generation,
              contentHash: want!.contentHash,
            });
          }
          total += stored.length;
        }
        expect(total).to.equal(expected.size);
      });

      it('interleaved upserts and deletes of different documents keep each document whole', async function () {
        const docs = Array.from({ length: 20 }, () => randomUUID());
        await Promise.all(
          docs.map((d, n) => store.upsert(Array.from({ length: 5 }, (_, k) => point({ documentId: d, tag, vector: axisVector(dims, n + k) })))),
        );
        const survivors = new Map<string, string[]>();
        await Promise.all(
          docs.map(async (d, n) => {
            const next = Array.from({ length: 3 }, (_, k) => point({ documentId: d, tag, generation: 2, vector: axisVector(dims, n + k + 1) }));
            await store.upsert(next);
            const removed = await store.deleteDocumentExcept(d, next.map((p) => p.id));
            expect(removed).to.equal(5);
            survivors.set(d, next.map((p) => p.id).sort());
          }),
        );
        for (const d of docs) expect((await store.points(d)).map((p) => p.id).sort()).to.deep.equal(survivors.get(d));
      });
    });

    describe('bad embeddings', function () {
      it('rejects a vector of the wrong size with BAD_EMBEDDING and writes nothing', async function () {
        const good = point({ documentId: doc, tag, vector: axisVector(dims, 0) });
        const short = point({ documentId: doc, tag, vector: axisVector(dims - 1, 0) });
        const long = point({ documentId: doc, tag, vector: axisVector(dims + 3, 0) });
        await expectCode(store.upsert([good, short]), 'BAD_EMBEDDING');
        await expectCode(store.upsert([long]), 'BAD_EMBEDDING');
        expect(await store.count(doc)).to.equal(0);
      });

      it('rejects NaN and infinite values with BAD_EMBEDDING and writes nothing', async function () {
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          const vector = axisVector(dims, 0);
          vector[dims - 1] = bad;
          const good = point({ documentId: doc, tag, vector: axisVector(dims, 1) });
          await expectCode(store.upsert([good, point({ documentId: doc, tag, vector })]), 'BAD_EMBEDDING');
        }
        expect(await store.count(doc)).to.equal(0);
        // A rejected call does not poison the writer.
        expect(await store.upsert([point({ documentId: doc, tag, vector: axisVector(dims, 1) })])).to.equal(1);
      });
    });
  });
}
