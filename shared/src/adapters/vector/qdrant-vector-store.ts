/**
 * The production VectorStore on Qdrant (DESIGN §3, §5), with the semantics of the embedded LanceDB store.
 *
 * Collections: one per embedding version, `<alias>__<version slug>_<hash>`, each with a named dense vector
 * `dense` (cosine) and a named sparse vector `text` with the `idf` modifier (the lexical leg: terms hashed
 * client-side, sparse-terms.ts), and payload indexes on `document_id`, `tag`, `embedding_version` (keyword)
 * and `generation` (integer). The alias (default `sections`) is pointed at this version's collection at
 * open (atomically: delete + create in one request), so outside readers — neo4j-graphrag retrievers,
 * dashboards — always read the collection the running services write; the previous version's collection is
 * kept for rollback. This store itself reads and writes its own version's collection: a query vector of
 * one model must never be searched against another model's vectors.
 *
 * Writes:
 * - upsert: points are validated, de-duplicated by id (highest generation wins), then sent in batches of
 *   ~256 with `wait: true`. The generation fence: the stored generations of a batch are read first and
 *   stale points skipped (that is the count returned), and each upsert also carries
 *   `update_filter: generation <= g`, so a newer point written by another process in between still wins
 *   on the server.
 * - deletes: count by filter, delete by filter (`wait: true`), then count again — a non-zero second count
 *   is a RetryableError, never a silent partial delete.
 * Reads page through `scroll` (points, existingHashes) and `count` with `exact: true`.
 *
 * Errors: 4xx (bad request, not found, forbidden) → PermanentError; 429 → RateLimitedError; 5xx, timeouts
 * and network errors → RetryableError. The API key goes only to the client (the `api-key` header).
 */
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import type { VectorHit, VectorPoint } from '../../domain/model.js';
import { ErrorCode, PermanentError, RetryableError } from '../../errors/errors.js';
import type { SearchOptions, StoredPoint, VectorStore } from '../../ports/vector-store.js';
import {
  chunks, clampLimit, collectionName, DENSE, documentFilter, FLOAT32_MAX, HIT_PAYLOAD, match, message, PAGE, pointOf, qdrantError,
  searchTextOf, SPARSE, storedPoint, toHit, UUID, type Filter, type Payload, type ScrolledPoint,
} from './qdrant-payload.js';
import { sparseDocument, sparseQuery, type SparseVector } from './sparse-terms.js';

export { collectionName, DENSE, qdrantError, SPARSE } from './qdrant-payload.js';

/** The QdrantClient methods this store uses (an in-memory model implements them in unit tests). */
export type QdrantApi = Pick<
  QdrantClient,
  | 'collectionExists'
  | 'createCollection'
  | 'getCollection'
  | 'createPayloadIndex'
  | 'getAliases'
  | 'updateCollectionAliases'
  | 'retrieve'
  | 'upsert'
  | 'scroll'
  | 'count'
  | 'delete'
  | 'query'
>;

export interface QdrantVectorStoreOptions {
  /** QDRANT_URL, e.g. http://qdrant:6333 */
  readonly url: string;
  /** QDRANT_API_KEY */
  readonly apiKey?: string;
  readonly dimensions: number;
  /** The embedding version this store's collection holds (the embedder's `version`). */
  readonly embeddingVersion: string;
  /** Alias outside readers use; the collection names derive from it. Default `sections`. */
  readonly alias?: string;
  /** Points per upsert request; default 256. */
  readonly batchSize?: number;
  /** Per request, default 30 s. */
  readonly timeoutMs?: number;
  /** Tests: a client to use instead of connecting to `url`. */
  readonly client?: QdrantApi;
}

interface Prepared {
  readonly id: string;
  readonly generation: number;
  readonly vector: { [DENSE]: number[]; [SPARSE]?: SparseVector };
  readonly payload: Payload;
}

export class QdrantVectorStore implements VectorStore {
  readonly kind = 'qdrant';
  readonly collection: string;
  private readonly batchSize: number;
  private closed = false;

  private constructor(
    private readonly client: QdrantApi,
    readonly dimensions: number,
    readonly alias: string,
    readonly embeddingVersion: string,
    options: QdrantVectorStoreOptions,
  ) {
    this.collection = collectionName(alias, embeddingVersion);
    this.batchSize = Math.max(1, options.batchSize ?? 256);
  }

  /** Creates (if needed) this version's collection and its payload indexes, and points the alias at it. */
  static async open(options: QdrantVectorStoreOptions): Promise<QdrantVectorStore> {
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1) {
      throw new PermanentError(ErrorCode.BadEmbedding, `qdrant: dimensions must be a positive integer, got ${options.dimensions}`);
    }
    const alias = options.alias ?? 'sections';
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(alias)) throw new PermanentError(ErrorCode.BadRequest, `qdrant: invalid alias name ${JSON.stringify(alias)}`);
    const client =
      options.client ??
      new QdrantClient({
        url: options.url,
        ...(options.apiKey ? { apiKey: options.apiKey } : {}),
        timeout: options.timeoutMs ?? 30_000,
        checkCompatibility: false,
      });
    const store = new QdrantVectorStore(client, options.dimensions, alias, options.embeddingVersion, options);
    try {
      await store.ensureCollection();
      await store.pointAlias();
    } catch (error) {
      throw qdrantError(error, ErrorCode.StoreUnavailable, `open ${store.collection}`);
    }
    return store;
  }

  private async ensureCollection(): Promise<void> {
    const { exists } = await this.client.collectionExists(this.collection);
    if (!exists) {
      try {
        await this.client.createCollection(this.collection, {
          vectors: { [DENSE]: { size: this.dimensions, distance: 'Cosine' } },
          sparse_vectors: { [SPARSE]: { modifier: 'idf' } },
        });
      } catch (error) {
        // Another service created it first (409 / "already exists"): fine, it is checked below.
        if (!/already exists|409/i.test(message(error))) throw error;
      }
    }
    const info = await this.client.getCollection(this.collection);
    const vectors = info.config?.params?.vectors as Record<string, { size?: number }> | undefined;
    const stored = vectors?.[DENSE]?.size;
    if (stored !== this.dimensions) {
      throw new PermanentError(
        ErrorCode.BadEmbedding,
        `qdrant: collection ${this.collection} holds ${stored ?? 'no'}-dimensional '${DENSE}' vectors, not ${this.dimensions}`,
      );
    }
    const indexed = info.payload_schema ?? {};
    const wanted: [string, 'keyword' | 'integer'][] = [
      ['document_id', 'keyword'],
      ['tag', 'keyword'],
      ['embedding_version', 'keyword'],
      ['generation', 'integer'],
    ];
    for (const [field, schema] of wanted) {
      if (indexed[field]) continue;
      await this.client.createPayloadIndex(this.collection, { field_name: field, field_schema: schema, wait: true });
    }
  }

  private async pointAlias(): Promise<void> {
    const { aliases } = await this.client.getAliases();
    const current = aliases.find((a) => a.alias_name === this.alias);
    if (current?.collection_name === this.collection) return;
    await this.client.updateCollectionAliases({
      actions: [
        ...(current ? [{ delete_alias: { alias_name: this.alias } }] : []),
        { create_alias: { collection_name: this.collection, alias_name: this.alias } },
      ],
    });
  }

  // ---------------------------------------------------------------- writes

  async upsert(points: readonly VectorPoint[]): Promise<number> {
    this.assertOpen();
    if (points.length === 0) return 0;
    const winners = new Map<string, Prepared>();
    points.forEach((p, n) => {
      const prepared = this.prepare(p, n); // validates everything before anything is sent
      const seen = winners.get(prepared.id);
      if (!seen || prepared.generation >= seen.generation) winners.set(prepared.id, prepared);
    });
    let written = 0;
    for (const batch of chunks([...winners.values()], this.batchSize)) {
      const stored = await this.generations(batch.map((p) => p.id));
      const fresh = batch.filter((p) => (stored.get(p.id) ?? -1) <= p.generation);
      const byGeneration = new Map<number, Prepared[]>();
      for (const p of fresh) {
        const group = byGeneration.get(p.generation);
        if (group) group.push(p);
        else byGeneration.set(p.generation, [p]);
      }
      for (const [generation, group] of byGeneration) {
        try {
          await this.client.upsert(this.collection, {
            wait: true,
            points: group.map((p) => ({ id: p.id, vector: p.vector, payload: p.payload })),
            // The fence on the server too: a point another writer stamped newer in the meantime stays.
            update_filter: { must: [{ key: 'generation', range: { lte: generation } }] },
          });
        } catch (error) {
          throw qdrantError(error, ErrorCode.StoreWriteFailed, 'upsert');
        }
        written += group.length;
      }
    }
    return written;
  }

  /** Stored generation of each id that exists. */
  private async generations(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (ids.length === 0) return out;
    const records = await this.call('retrieve', ErrorCode.StoreUnavailable, () =>
      this.client.retrieve(this.collection, { ids: [...ids], with_payload: ['generation'], with_vector: false }),
    );
    for (const r of records) out.set(String(r.id), Number((r.payload as Payload | null | undefined)?.generation ?? -1));
    return out;
  }

  deleteDocumentExcept(documentId: string, keepIds: readonly string[]): Promise<number> {
    const keep = [...new Set(keepIds)].filter((id) => UUID.test(id));
    return this.deleteWhere(keep.length > 0 ? { ...documentFilter(documentId), must_not: [{ has_id: keep }] } : documentFilter(documentId));
  }

  deleteDocument(documentId: string): Promise<number> {
    return this.deleteWhere(documentFilter(documentId));
  }

  /** Count, delete by filter, count again: what the filter matched is gone, or the call fails. */
  private async deleteWhere(filter: Filter): Promise<number> {
    this.assertOpen();
    const before = await this.countWhere(filter);
    if (before === 0) return 0;
    await this.call('delete', ErrorCode.StoreWriteFailed, () => this.client.delete(this.collection, { wait: true, filter }));
    const after = await this.countWhere(filter);
    if (after !== 0) {
      throw new RetryableError(ErrorCode.StoreWriteFailed, `qdrant delete: ${after} of ${before} matching points are still there`);
    }
    return before;
  }

  // ---------------------------------------------------------------- reads

  async existingHashes(documentId: string, embeddingVersion: string): Promise<Map<string, string>> {
    this.assertOpen();
    const points = await this.scrollAll(documentFilter(documentId, [match('embedding_version', embeddingVersion)]), ['content_hash']);
    return new Map(points.map((p) => [String(p.id), String((p.payload as Payload | null | undefined)?.content_hash ?? '')]));
  }

  async points(documentId: string): Promise<StoredPoint[]> {
    this.assertOpen();
    const points = await this.scrollAll(documentFilter(documentId), ['content_hash', 'generation', 'embedding_version']);
    return points.map((p) => storedPoint({ id: p.id, payload: p.payload as Payload | null })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async fullPoints(documentId: string): Promise<VectorPoint[]> {
    this.assertOpen();
    const points = await this.scrollAll(documentFilter(documentId), true, true);
    return points.map(pointOf).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async count(documentId?: string): Promise<number> {
    this.assertOpen();
    return this.countWhere(documentId === undefined ? undefined : documentFilter(documentId));
  }

  async searchVector(vector: readonly number[], options: SearchOptions): Promise<VectorHit[]> {
    this.assertOpen();
    this.checkVector(vector, 'query vector');
    const limit = clampLimit(options.limit);
    if (limit === 0) return [];
    const { points } = await this.call('searchVector', ErrorCode.StoreUnavailable, () =>
      this.client.query(this.collection, {
        query: [...vector],
        using: DENSE,
        limit,
        with_payload: HIT_PAYLOAD,
        ...(options.tag !== undefined ? { filter: { must: [match('tag', options.tag)] } } : {}),
      }),
    );
    return points.map((p) => toHit({ id: p.id, payload: p.payload as Payload | null, score: p.score })).sort((a, b) => b.score - a.score);
  }

  async searchText(query: string, options: SearchOptions): Promise<VectorHit[]> {
    this.assertOpen();
    const limit = clampLimit(options.limit);
    const sparse = sparseQuery(typeof query === 'string' ? query : '');
    if (limit === 0 || sparse.indices.length === 0) return [];
    const { points } = await this.call('searchText', ErrorCode.StoreUnavailable, () =>
      this.client.query(this.collection, {
        query: sparse,
        using: SPARSE,
        limit,
        with_payload: HIT_PAYLOAD,
        ...(options.tag !== undefined ? { filter: { must: [match('tag', options.tag)] } } : {}),
      }),
    );
    return points
      .map((p) => toHit({ id: p.id, payload: p.payload as Payload | null, score: p.score }))
      .filter((h) => Number.isFinite(h.score) && h.score > 0)
      .sort((a, b) => b.score - a.score);
  }

  private async countWhere(filter: Filter | undefined): Promise<number> {
    const { count } = await this.call('count', ErrorCode.StoreUnavailable, () =>
      this.client.count(this.collection, { exact: true, ...(filter ? { filter } : {}) }),
    );
    return count;
  }

  /** Every point matching `filter`, page by page. */
  private async scrollAll(filter: Filter, payload: string[] | true, withVector = false): Promise<ScrolledPoint[]> {
    const out: ScrolledPoint[] = [];
    let offset: Schemas['ExtendedPointId'] | null | undefined;
    do {
      const page = await this.call('scroll', ErrorCode.StoreUnavailable, () =>
        this.client.scroll(this.collection, { filter, limit: PAGE, with_payload: payload, with_vector: withVector ? [DENSE] : false, ...(offset != null ? { offset } : {}) }),
      );
      out.push(...page.points);
      offset = page.next_page_offset as Schemas['ExtendedPointId'] | null | undefined;
    } while (offset !== null && offset !== undefined);
    return out;
  }

  private async call<T>(what: string, code: ErrorCode, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw qdrantError(error, code, what);
    }
  }

  // ---------------------------------------------------------------- lifecycle and validation

  async close(): Promise<void> {
    this.closed = true; // the REST client holds no connection that needs closing
  }

  private assertOpen(): void {
    if (this.closed) throw new RetryableError(ErrorCode.StoreUnavailable, 'qdrant: the store is closed');
  }

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
    if (!vector.some((x) => x !== 0)) throw new PermanentError(ErrorCode.BadEmbedding, `${what} is all zeros (no cosine direction)`);
  }

  private prepare(p: VectorPoint, n: number): Prepared {
    if (typeof p.id !== 'string' || !UUID.test(p.id)) {
      throw new PermanentError(ErrorCode.PayloadInvalid, `point #${n}: Qdrant point ids must be UUIDs, got ${JSON.stringify(p.id)}`);
    }
    if (typeof p.documentId !== 'string' || p.documentId === '') throw new PermanentError(ErrorCode.PayloadInvalid, `point ${p.id} has no documentId`);
    if (!Number.isSafeInteger(p.generation) || p.generation < 0) {
      throw new PermanentError(ErrorCode.PayloadInvalid, `point ${p.id} has an invalid generation: ${p.generation}`);
    }
    this.checkVector(p.vector, `point ${p.id}`);
    const sparse = sparseDocument(searchTextOf(p));
    return {
      id: p.id.toLowerCase(),
      generation: p.generation,
      vector: { [DENSE]: [...p.vector], ...(sparse.indices.length > 0 ? { [SPARSE]: sparse } : {}) },
      payload: {
        document_id: p.documentId,
        source_uri: p.sourceUri,
        tag: p.tag,
        title: p.title,
        heading_path: [...p.headingPath],
        text: p.text,
        content_hash: p.contentHash,
        generation: p.generation,
        embedding_version: p.embeddingVersion,
      },
    };
  }
}
