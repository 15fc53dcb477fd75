/**
 * An in-memory model of the part of Qdrant's REST API the QdrantVectorStore uses — collections with a
 * named dense vector (cosine) and a named sparse vector with the idf modifier, payload filters (match,
 * range, has_id, must/must_not/should), conditional upserts (`update_filter`), scroll pages, exact counts,
 * delete by filter, aliases — written from Qdrant's API reference.
 *
 * It is NOT Qdrant: it lets the VectorStore contract exercise the adapter's own logic (fence, batching,
 * paging, filters, delete checks) here, where no Qdrant server runs. The real contract suite runs against a
 * server when QDRANT_URL is set (CI); without it that suite is reported pending.
 */
import type { QdrantApi } from '../../src/adapters/vector/qdrant-vector-store.js';

type Payload = Record<string, unknown>;
interface Sparse {
  indices: number[];
  values: number[];
}
interface StoredPoint {
  id: string;
  dense: number[];
  sparse: Map<string, Sparse>;
  payload: Payload;
}
interface Collection {
  dims: Record<string, number>;
  sparseNames: Set<string>;
  payloadSchema: Record<string, { data_type: string }>;
  points: Map<string, StoredPoint>;
}
type Condition = Record<string, unknown>;
interface Filter {
  must?: Condition | Condition[] | null;
  must_not?: Condition | Condition[] | null;
  should?: Condition | Condition[] | null;
}

const list = <T>(v: T | T[] | null | undefined): T[] => (v == null ? [] : Array.isArray(v) ? v : [v]);

function fail(status: number, text: string): Error {
  return new Error(`Unexpected Response: ${status} (${text})\nRaw response content:\n{"status":{"error":"${text}"}}`);
}

function matches(point: StoredPoint, filter: Filter | null | undefined): boolean {
  if (!filter) return true;
  const test = (c: Condition): boolean => {
    if ('has_id' in c) return (c.has_id as string[]).map((x) => String(x).toLowerCase()).includes(point.id);
    if ('must' in c || 'must_not' in c || 'should' in c) return matches(point, c as Filter);
    const value = point.payload[c.key as string];
    if (c.match) return value === (c.match as { value: unknown }).value;
    if (c.range) {
      const r = c.range as { lt?: number; lte?: number; gt?: number; gte?: number };
      if (typeof value !== 'number') return false;
      return (r.lt === undefined || value < r.lt) && (r.lte === undefined || value <= r.lte) && (r.gt === undefined || value > r.gt) && (r.gte === undefined || value >= r.gte);
    }
    throw fail(400, `unsupported condition ${JSON.stringify(c)}`);
  };
  const should = list(filter.should);
  return list(filter.must).every(test) && !list(filter.must_not).some(test) && (should.length === 0 || should.some(test));
}

function select(payload: Payload, which: unknown): Payload | null {
  if (which === false || which === undefined) return null;
  if (which === true) return structuredClone(payload);
  return Object.fromEntries((which as string[]).filter((k) => k in payload).map((k) => [k, structuredClone(payload[k])]));
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

export class QdrantModel {
  readonly collections = new Map<string, Collection>();
  readonly aliases = new Map<string, string>();
  /** Every call, for tests that check what the adapter sent. */
  readonly calls: { method: string; collection?: string; args: unknown }[] = [];

  private coll(name: string): Collection {
    const c = this.collections.get(name) ?? this.collections.get(this.aliases.get(name) ?? '');
    if (!c) throw fail(404, `Collection ${name} doesn't exist`);
    return c;
  }

  /** The QdrantApi surface (typed loosely here; the adapter only reads the fields Qdrant returns). */
  api(): QdrantApi {
    const record = (method: string, collection: string | undefined, args: unknown): void => {
      this.calls.push({ method, collection, args: structuredClone(args) });
    };
    const impl = {
      collectionExists: async (name: string) => {
        record('collectionExists', name, {});
        return { exists: this.collections.has(name) };
      },
      createCollection: async (name: string, args: { vectors: Record<string, { size: number; distance: string }>; sparse_vectors?: Record<string, { modifier?: string }> }) => {
        record('createCollection', name, args);
        if (this.collections.has(name)) throw fail(409, `Collection ${name} already exists!`);
        const sparse = args.sparse_vectors ?? {};
        if (Object.values(sparse).some((s) => s.modifier !== 'idf')) throw fail(400, 'the model only knows the idf modifier');
        this.collections.set(name, {
          dims: Object.fromEntries(Object.entries(args.vectors).map(([k, v]) => [k, v.size])),
          sparseNames: new Set(Object.keys(sparse)),
          payloadSchema: {},
          points: new Map(),
        });
        return true;
      },
      getCollection: async (name: string) => {
        record('getCollection', name, {});
        const c = this.coll(name);
        return {
          status: 'green',
          points_count: c.points.size,
          config: { params: { vectors: Object.fromEntries(Object.entries(c.dims).map(([k, size]) => [k, { size, distance: 'Cosine' }])) } },
          payload_schema: structuredClone(c.payloadSchema),
        };
      },
      createPayloadIndex: async (name: string, args: { field_name: string; field_schema: string }) => {
        record('createPayloadIndex', name, args);
        this.coll(name).payloadSchema[args.field_name] = { data_type: args.field_schema };
        return { operation_id: 0, status: 'completed' };
      },
      getAliases: async () => {
        record('getAliases', undefined, {});
        return { aliases: [...this.aliases].map(([alias_name, collection_name]) => ({ alias_name, collection_name })) };
      },
      updateCollectionAliases: async (args: { actions: Record<string, { alias_name: string; collection_name?: string }>[] }) => {
        record('updateCollectionAliases', undefined, args);
        const next = new Map(this.aliases);
        for (const action of args.actions) {
          if (action.delete_alias) next.delete(action.delete_alias.alias_name);
          else if (action.create_alias) {
            if (!this.collections.has(action.create_alias.collection_name!)) throw fail(404, 'no such collection');
            next.set(action.create_alias.alias_name, action.create_alias.collection_name!);
          } else throw fail(400, 'unknown alias action');
        }
        this.aliases.clear();
        for (const [k, v] of next) this.aliases.set(k, v);
        return true;
      },
      retrieve: async (name: string, args: { ids: string[]; with_payload?: unknown }) => {
        record('retrieve', name, args);
        const c = this.coll(name);
        return args.ids.flatMap((id) => {
          const p = c.points.get(String(id).toLowerCase());
          return p ? [{ id: p.id, payload: select(p.payload, args.with_payload ?? true) }] : [];
        });
      },
      upsert: async (name: string, args: { wait?: boolean; points: { id: string; vector: Record<string, unknown>; payload: Payload }[]; update_filter?: Filter }) => {
        record('upsert', name, { ...args, points: args.points.length });
        const c = this.coll(name);
        for (const p of args.points) {
          const id = String(p.id).toLowerCase();
          if (!/^[0-9a-f-]{36}$/.test(id)) throw fail(400, `invalid point id ${p.id}`);
          const dense = p.vector.dense as number[];
          if (!Array.isArray(dense) || dense.length !== c.dims.dense) throw fail(400, 'wrong vector dimension');
          const sparse = new Map<string, Sparse>();
          for (const [k, v] of Object.entries(p.vector)) {
            if (k === 'dense') continue;
            if (!c.sparseNames.has(k)) throw fail(400, `no sparse vector ${k}`);
            const s = v as Sparse;
            if (new Set(s.indices).size !== s.indices.length || s.indices.length !== s.values.length) throw fail(400, 'sparse indices must be unique');
            sparse.set(k, { indices: [...s.indices], values: [...s.values] });
          }
          const existing = c.points.get(id);
          if (existing && args.update_filter && !matches(existing, args.update_filter)) continue;
          c.points.set(id, { id, dense: [...dense], sparse, payload: structuredClone(p.payload) });
        }
        return { operation_id: 1, status: args.wait ? 'completed' : 'acknowledged' };
      },
      scroll: async (name: string, args: { filter?: Filter; limit?: number; offset?: string; with_payload?: unknown; with_vector?: unknown }) => {
        record('scroll', name, args);
        const c = this.coll(name);
        const all = [...c.points.values()].filter((p) => matches(p, args.filter)).sort((a, b) => (a.id < b.id ? -1 : 1));
        const from = args.offset === undefined ? 0 : all.findIndex((p) => p.id >= String(args.offset));
        const limit = args.limit ?? 10;
        const page = from < 0 ? [] : all.slice(from, from + limit);
        const next = from < 0 ? undefined : all[from + limit];
        // with_vector: false / true (every vector) / a list of vector names, as Qdrant's scroll takes it.
        const names = args.with_vector === true ? ['dense'] : Array.isArray(args.with_vector) ? (args.with_vector as string[]) : [];
        return {
          points: page.map((p) => ({ id: p.id, payload: select(p.payload, args.with_payload ?? true), ...(names.includes('dense') ? { vector: { dense: [...p.dense] } } : {}) })),
          next_page_offset: next?.id ?? null,
        };
      },
      count: async (name: string, args: { filter?: Filter; exact?: boolean }) => {
        record('count', name, args);
        return { count: [...this.coll(name).points.values()].filter((p) => matches(p, args.filter)).length };
      },
      delete: async (name: string, args: { filter?: Filter; wait?: boolean }) => {
        record('delete', name, args);
        const c = this.coll(name);
        for (const p of [...c.points.values()]) if (matches(p, args.filter)) c.points.delete(p.id);
        return { operation_id: 2, status: 'completed' };
      },
      query: async (name: string, args: { query: number[] | Sparse; using: string; filter?: Filter; limit?: number; with_payload?: unknown }) => {
        record('query', name, args);
        const c = this.coll(name);
        const candidates = [...c.points.values()].filter((p) => matches(p, args.filter));
        let scored: { p: StoredPoint; score: number }[];
        if (Array.isArray(args.query)) {
          if (args.query.length !== c.dims[args.using]) throw fail(400, 'wrong query vector dimension');
          const q = args.query;
          scored = candidates.map((p) => ({ p, score: cosine(q, p.dense) }));
        } else {
          const q = args.query;
          // idf over the whole collection, as Qdrant computes it: ln(1 + (N − n + 0.5) / (n + 0.5)).
          const all = [...c.points.values()];
          const df = new Map<number, number>();
          for (const p of all) for (const i of p.sparse.get(args.using)?.indices ?? []) df.set(i, (df.get(i) ?? 0) + 1);
          const idf = (i: number): number => Math.log(1 + (all.length - (df.get(i) ?? 0) + 0.5) / ((df.get(i) ?? 0) + 0.5));
          scored = candidates.flatMap((p) => {
            const s = p.sparse.get(args.using);
            if (!s) return [];
            let score = 0;
            let overlap = false;
            q.indices.forEach((i, n) => {
              const k = s.indices.indexOf(i);
              if (k >= 0) {
                overlap = true;
                score += q.values[n]! * s.values[k]! * idf(i);
              }
            });
            return overlap ? [{ p, score }] : [];
          });
        }
        scored.sort((a, b) => b.score - a.score || (a.p.id < b.p.id ? -1 : 1));
        return {
          points: scored.slice(0, args.limit ?? 10).map(({ p, score }) => ({ id: p.id, version: 1, score, payload: select(p.payload, args.with_payload ?? false) })),
        };
      },
    };
    return impl as unknown as QdrantApi;
  }
}
