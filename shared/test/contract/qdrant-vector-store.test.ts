/**
 * QdrantVectorStore: the VectorStore contract against a real Qdrant when QDRANT_URL is set (else pending
 * with the reason), the same contract against an in-memory model of Qdrant's API (the adapter's own logic),
 * and what is particular to Qdrant: collection per embedding version behind an alias, payload indexes,
 * batches, the server-side fence, delete count checks, error mapping, the hashed sparse terms.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { QdrantClient } from '@qdrant/js-client-rest';
import {
  collectionName, DENSE, qdrantError, QdrantVectorStore, SPARSE, type QdrantApi, type QdrantVectorStoreOptions,
} from '../../src/adapters/vector/qdrant-vector-store.js';
import { lexicalTerms, MAX_QUERY_TERMS, sparseDocument, sparseQuery } from '../../src/adapters/vector/sparse-terms.js';
import { ErrorCode, PermanentError, PipelineError, RateLimitedError, RetryableError } from '../../src/errors/errors.js';
import { QdrantModel } from './qdrant-model.js';
import { pendingReason } from './real-stores.js';
import { axisVector, point, vectorStoreContract } from './vector-store.contract.js';

const reason = await pendingReason('QDRANT_URL');
const DIMS = 16;

if (reason) {
  describe('VectorStore contract: qdrant (server)', function () {
    it(`runs against a Qdrant server — pending: ${reason}`);
  });
} else {
  const url = process.env.QDRANT_URL!;
  const apiKey = process.env.QDRANT_API_KEY;
  const alias = `contract_${randomUUID().slice(0, 8)}`;
  const options = (o: Partial<QdrantVectorStoreOptions> = {}): QdrantVectorStoreOptions => ({
    url, ...(apiKey ? { apiKey } : {}), dimensions: DIMS, embeddingVersion: 'contract-v1', alias, ...o,
  });
  vectorStoreContract('qdrant (server)', () => QdrantVectorStore.open(options()));

  describe('QdrantVectorStore (server)', function () {
    const client = new QdrantClient({ url, ...(apiKey ? { apiKey } : {}), checkCompatibility: false });
    after(async () => {
      const { aliases } = await client.getAliases();
      const mine = aliases.filter((x) => x.alias_name.startsWith(alias)).map((a) => ({ delete_alias: { alias_name: a.alias_name } }));
      if (mine.length > 0) await client.updateCollectionAliases({ actions: mine });
      const { collections } = await client.getCollections();
      for (const c of collections.filter((x) => x.name.startsWith(alias))) await client.deleteCollection(c.name);
    });

    it('creates the collection with dense + idf sparse vectors and payload indexes, and points the alias at it', async () => {
      const store = await QdrantVectorStore.open(options());
      const info = await client.getCollection(store.collection);
      expect((info.config.params.vectors as Record<string, { size: number; distance: string }>)[DENSE]).to.include({ size: DIMS, distance: 'Cosine' });
      expect(info.config.params.sparse_vectors?.[SPARSE]?.modifier).to.equal('idf');
      expect(Object.keys(info.payload_schema ?? {})).to.include.members(['document_id', 'tag', 'embedding_version', 'generation']);
      const { aliases } = await client.getAliases();
      expect(aliases.find((a) => a.alias_name === alias)?.collection_name).to.equal(store.collection);
      await store.close();
      // a second version gets its own collection, and the alias moves to it
      const v2 = await QdrantVectorStore.open(options({ embeddingVersion: 'contract-v2', dimensions: 8 }));
      expect(v2.collection).to.not.equal(store.collection);
      expect((await client.getAliases()).aliases.find((a) => a.alias_name === alias)?.collection_name).to.equal(v2.collection);
      await v2.close();
    });

    if (apiKey) {
      it('a wrong API key is refused at open', async () => {
        const error = await QdrantVectorStore.open(options({ apiKey: 'wrong-key' })).then(() => null, (e: unknown) => e);
        expect(error).to.be.instanceOf(PermanentError);
      });
    } else {
      it('a wrong API key is refused at open — pending: the server runs without QDRANT_API_KEY, so there is nothing to refuse');
    }
  });
}

// ---- the adapter's logic, against an in-memory model of Qdrant's API -------------------------------------

const model = new QdrantModel();
const openOnModel = (o: Partial<QdrantVectorStoreOptions> = {}) =>
  QdrantVectorStore.open({ url: 'http://model', dimensions: DIMS, embeddingVersion: 'contract-v1', client: model.api(), ...o });

vectorStoreContract('qdrant adapter on an in-memory model of the Qdrant API', () => openOnModel());

describe('QdrantVectorStore on the in-memory model', function () {
  let m: QdrantModel;
  let store: QdrantVectorStore;
  const open = (o: Partial<QdrantVectorStoreOptions> = {}) =>
    QdrantVectorStore.open({ url: 'http://model', dimensions: DIMS, embeddingVersion: 'model-v1', client: m.api(), ...o });
  beforeEach(async () => {
    m = new QdrantModel();
    store = await open();
  });
  afterEach(async () => store.close());

  it('names one collection per embedding version and creates it idempotently with its payload indexes', async () => {
    expect(store.collection).to.equal(collectionName('sections', 'model-v1'));
    expect(collectionName('sections', 'text-embedding-3-small-1536')).to.match(/^sections__text-embedding-3-small-1536_[0-9a-z]+$/);
    expect(collectionName('sections', 'A/B')).to.not.equal(collectionName('sections', 'a-b'));
    const again = await open();
    expect(m.calls.filter((c) => c.method === 'createCollection')).to.have.length(1);
    expect(m.calls.filter((c) => c.method === 'createPayloadIndex').map((c) => (c.args as { field_name: string }).field_name)).to.deep.equal([
      'document_id', 'tag', 'embedding_version', 'generation',
    ]);
    const created = m.calls.find((c) => c.method === 'createCollection')!.args as { vectors: unknown; sparse_vectors: unknown };
    expect(created).to.deep.equal({ vectors: { dense: { size: DIMS, distance: 'Cosine' } }, sparse_vectors: { text: { modifier: 'idf' } } });
    await again.close();
  });

  it('points the alias at the current version atomically, keeping the old collection', async () => {
    expect(m.aliases.get('sections')).to.equal(store.collection);
    const v2 = await open({ embeddingVersion: 'model-v2', dimensions: 8 });
    expect(m.aliases.get('sections')).to.equal(v2.collection);
    expect(m.collections.has(store.collection)).to.equal(true);
    const switched = m.calls.filter((c) => c.method === 'updateCollectionAliases').at(-1)!.args as { actions: unknown[] };
    expect(switched.actions).to.deep.equal([
      { delete_alias: { alias_name: 'sections' } },
      { create_alias: { collection_name: v2.collection, alias_name: 'sections' } },
    ]);
    await v2.close();
  });

  it('refuses to open a collection of other dimensions, and bad options', async () => {
    m.collections.get(store.collection)!.dims.dense = 32;
    const error = await open().then(() => null, (e: unknown) => e);
    expect((error as PipelineError).code).to.equal(ErrorCode.BadEmbedding);
    expect(await open({ alias: 'bad alias!' }).then(() => null, (e: unknown) => e)).to.be.instanceOf(PermanentError);
    expect(await open({ dimensions: 0 }).then(() => null, (e: unknown) => e)).to.be.instanceOf(PermanentError);
  });

  it('upserts in batches of 256 with wait:true and a server-side fence per generation', async () => {
    const doc = randomUUID();
    const points = Array.from({ length: 600 }, (_, k) => point({ documentId: doc, tag: 't', generation: k < 300 ? 1 : 2, vector: axisVector(DIMS, k) }));
    expect(await store.upsert(points)).to.equal(600);
    const upserts = m.calls.filter((c) => c.method === 'upsert').map((c) => c.args as { wait: boolean; points: number; update_filter: unknown });
    expect(upserts.map((u) => u.points)).to.deep.equal([256, 44, 212, 88]); // 256 | 256 split at the generation change | 88
    expect(upserts.every((u) => u.wait)).to.equal(true);
    expect(upserts[0]!.update_filter).to.deep.equal({ must: [{ key: 'generation', range: { lte: 1 } }] });
    expect(m.calls.filter((c) => c.method === 'retrieve')).to.have.length(3);
  });

  it('the server-side fence holds when another writer stamps a newer generation between read and write', async () => {
    const doc = randomUUID();
    const id = randomUUID();
    const api = m.api();
    const racing = { ...api } as QdrantApi;
    // Another process writes g9 right after this store read the stored generations.
    racing.retrieve = (async (...args: Parameters<QdrantApi['retrieve']>) => {
      const out = await api.retrieve(...args);
      await api.upsert(store.collection, { wait: true, points: [{ id, vector: { dense: axisVector(DIMS, 2) }, payload: { document_id: doc, generation: 9, content_hash: 'h9', embedding_version: 'x' } }] });
      return out;
    }) as QdrantApi['retrieve'];
    const racer = await QdrantVectorStore.open({ url: 'http://model', dimensions: DIMS, embeddingVersion: 'model-v1', client: racing });
    await racer.upsert([point({ id, documentId: doc, tag: 't', generation: 3, contentHash: 'h3', vector: axisVector(DIMS, 1) })]);
    expect((await store.points(doc))[0]).to.include({ generation: 9, contentHash: 'h9' });
  });

  it('validates points before anything is sent: UUID ids, generations, finite vectors of the right size', async () => {
    const doc = randomUUID();
    const before = m.calls.length;
    const bad = [
      point({ id: 'not-a-uuid', documentId: doc, tag: 't', vector: axisVector(DIMS, 0) }),
      point({ documentId: doc, tag: 't', generation: -1, vector: axisVector(DIMS, 0) }),
      point({ documentId: doc, tag: 't', vector: axisVector(DIMS + 1, 0) }),
      point({ documentId: doc, tag: 't', vector: axisVector(DIMS, 0).map((x, i) => (i === 1 ? Number.NaN : x)) }),
      point({ documentId: doc, tag: 't', vector: new Array<number>(DIMS).fill(0) }),
    ];
    for (const p of bad) {
      const error = await store.upsert([point({ documentId: doc, tag: 't', vector: axisVector(DIMS, 1) }), p]).then(() => null, (e: unknown) => e);
      expect(error, p.id).to.be.instanceOf(PermanentError);
    }
    expect(m.calls.length).to.equal(before);
  });

  it('delete checks the count after deleting by filter; a leftover is a RetryableError', async () => {
    const doc = randomUUID();
    await store.upsert([0, 1, 2].map((k) => point({ documentId: doc, tag: 't', vector: axisVector(DIMS, k) })));
    const api = m.api();
    const lossy = { ...api, delete: (async () => ({ operation_id: 9, status: 'completed' })) as unknown as QdrantApi['delete'] } as QdrantApi;
    const s = await QdrantVectorStore.open({ url: 'http://model', dimensions: DIMS, embeddingVersion: 'model-v1', client: lossy });
    const error = await s.deleteDocument(doc).then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(RetryableError);
    expect((error as Error).message).to.match(/3 of 3 matching points are still there/);
    expect(await store.deleteDocument(doc)).to.equal(3);
    const deletes = m.calls.filter((c) => c.method === 'delete').map((c) => c.args as { wait: boolean; filter: unknown });
    expect(deletes.at(-1)).to.deep.equal({ wait: true, filter: { must: [{ key: 'document_id', match: { value: doc } }] } });
  });

  it('maps client errors: 4xx permanent, 429 rate-limited, 5xx / timeouts / network retryable', () => {
    const http = (status: number) => new Error(`Unexpected Response: ${status} (x)\nRaw response content:\n{}`);
    expect(qdrantError(http(400), ErrorCode.StoreWriteFailed, 'upsert')).to.be.instanceOf(PermanentError);
    expect(qdrantError(http(403), ErrorCode.StoreWriteFailed, 'upsert')).to.be.instanceOf(PermanentError);
    expect(qdrantError(http(404), ErrorCode.StoreUnavailable, 'count')).to.be.instanceOf(PermanentError);
    expect(qdrantError(http(429), ErrorCode.StoreWriteFailed, 'upsert')).to.be.instanceOf(RateLimitedError);
    for (const s of [500, 502, 503, 408]) expect(qdrantError(http(s), ErrorCode.StoreWriteFailed, 'upsert'), String(s)).to.be.instanceOf(RetryableError).and.not.instanceOf(RateLimitedError);
    expect(qdrantError(new TypeError('fetch failed'), ErrorCode.StoreUnavailable, 'count')).to.be.instanceOf(RetryableError);
    expect(qdrantError(http(400), ErrorCode.StoreWriteFailed, 'upsert').message).to.equal('qdrant upsert: Unexpected Response: 400 (x)');
  });

  it('hashes terms client-side with the tokeniser of the hash embedder, BM25-weighted, indices unique and sorted', () => {
    expect(lexicalTerms('Run redis-cli --port 6380')).to.deep.equal(['run', 'redis-cli', 'redis', 'cli', '--port', 'port', '6380']);
    const doc = sparseDocument('port port port bind');
    expect(doc.indices).to.have.length(2);
    expect([...doc.indices].sort((a, b) => a - b)).to.deep.equal(doc.indices);
    const [port, bind] = doc.indices.map((i) => doc.values[doc.indices.indexOf(i)]!).sort((a, b) => b - a);
    expect(port!).to.be.greaterThan(bind!); // tf counts…
    expect(port! / bind!).to.be.below(3); // …saturating
    expect(sparseQuery('Port, PORT and port!').indices).to.have.length(2);
    expect(sparseQuery('"():*').indices).to.deep.equal([]);
    expect(sparseQuery(Array.from({ length: 500 }, (_, i) => `w${i}`).join(' ')).indices.length).to.equal(MAX_QUERY_TERMS);
    expect(sparseQuery('x').values).to.deep.equal([1]);
  });

  it('searches the alias-independent collection of its own version only', async () => {
    const doc = randomUUID();
    await store.upsert([point({ documentId: doc, tag: 't', title: 'Sentinel', text: 'Sentinel watches the primary', vector: axisVector(DIMS, 3) })]);
    const v2 = await open({ embeddingVersion: 'model-v2' });
    expect(await v2.searchText('sentinel', { limit: 5 })).to.deep.equal([]);
    expect((await store.searchText('sentinel', { limit: 5 }))[0]!.documentId).to.equal(doc);
    await v2.close();
  });

  it('rejects calls after close', async () => {
    await store.close();
    const error = await store.count().then(() => null, (e: unknown) => e);
    expect((error as PipelineError).code).to.equal(ErrorCode.StoreUnavailable);
  });
});
