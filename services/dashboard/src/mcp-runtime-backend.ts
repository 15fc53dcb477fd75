import {
  RetryableError, sectionId as sectionIdOf, sectionPartId, documentId as documentIdOf,
  type Embedder, type GraphStore, type Ledger, type Runtime, type SectionExpansion, type StoredDocument, type VectorHit, type VectorStore,
} from '@ingest/shared';
import {
  McpBackendError, MCP_SEARCH_MAX_LIMIT, type DocumentSummary, type McpBackend, type OutlineEntry, type SectionDetail,
} from './mcp-backend.js';

/**
 * The MCP backend of the dashboard process: straight onto the Runtime's stores, so a document is
 * answerable the moment its stores hold it (its job is DONE) and gone once its delete chain ran.
 *
 * Stopgap, until the GraphStore port can read sections: the port has no "section by id" or "sections of a
 * document" read, so this file rebuilds both from the methods it has —
 *  - text, title and heading path of a section come from its vector-store payload, found by a full-text
 *    search for its title (known from its neighbours' expansion) and, failing that, by searches restricted
 *    to its document's tag (full text, then vector);
 *  - the document of a section comes from search results seen before, else from a scan of sectionHashes;
 *  - an outline comes from sectionHashes (ordinal order) plus expand (parent and neighbour titles).
 * A `GraphStore.sections(documentId)` / `getSections(ids)` returning SectionRecord fields would make each
 * of these one read.
 */

export interface RuntimeBackendDeps {
  readonly graph: Pick<GraphStore, 'expand' | 'sectionHashes' | 'getDocument' | 'listDocuments'>;
  readonly vectors: Pick<VectorStore, 'searchText' | 'searchVector'>;
  readonly embedder: Pick<Embedder, 'embed'>;
  readonly ledger: Pick<Ledger, 'get' | 'tagsOfSource'>;
  readonly query: Runtime['query'];
}

/** Full-text candidates scanned for a section's own payload. */
const TEXT_LOOKUP_LIMIT = 500;
/** Vector candidates of the document's tag scanned as the last resort (LanceDB's cap). */
const VECTOR_LOOKUP_LIMIT = 10_000;
/** section id → document id; ids derive from the document id (DESIGN §4), so an entry never goes stale. */
const DOCUMENT_OF_CACHE_MAX = 200_000;
const EXPAND_BATCH = 500;
const SCAN_CONCURRENCY = 8;

const PART_SUFFIX = / \(part \d+\)$/;

const byRuntime = new WeakMap<Runtime, McpBackend>();

/** One backend per Runtime (the /mcp router and the REST routes share its caches). */
export function createRuntimeBackend(rt: Runtime): McpBackend {
  let backend = byRuntime.get(rt);
  if (!backend) {
    backend = runtimeBackend({ graph: rt.graph, vectors: rt.vectors, embedder: rt.embedder, ledger: rt.pipeline.ledger, query: (q, o) => rt.query(q, o) });
    byRuntime.set(rt, backend);
  }
  return backend;
}

const unavailable = (error: unknown): never => {
  if (error instanceof RetryableError) throw new McpBackendError('UNAVAILABLE', error.message);
  throw error;
};

export function runtimeBackend(deps: RuntimeBackendDeps): McpBackend {
  const documentOf = new Map<string, string>();
  const remember = (sectionId: string, documentId: string) => {
    if (documentOf.size >= DOCUMENT_OF_CACHE_MAX) documentOf.clear();
    documentOf.set(sectionId, documentId);
  };

  const statusOf = async (documentId: string): Promise<string> => (await deps.ledger.get(documentId))?.status || 'UNKNOWN';

  const summary = async (d: StoredDocument): Promise<DocumentSummary> => ({
    document_id: d.id,
    source_uri: d.sourceUri,
    tag: d.tag,
    title: d.title,
    generation: d.generation,
    completed_generation: d.completedGeneration,
    status: await statusOf(d.id),
  });

  async function expandAll(ids: readonly string[]): Promise<Map<string, SectionExpansion>> {
    const out = new Map<string, SectionExpansion>();
    for (let i = 0; i < ids.length; i += EXPAND_BATCH) {
      for (const e of await deps.graph.expand(ids.slice(i, i + EXPAND_BATCH))) out.set(e.sectionId, e);
    }
    return out;
  }

  /** Titles of sections as their parents and neighbours see them. */
  function titlesFrom(expansions: Iterable<SectionExpansion>): Map<string, string> {
    const titles = new Map<string, string>();
    for (const e of expansions) {
      for (const ref of [e.parent, e.previous, e.next]) if (ref) titles.set(ref.id, ref.title);
    }
    return titles;
  }

  const find = (hits: readonly VectorHit[], id: string) => hits.find((h) => h.id === id) ?? null;

  /** The section's own vector-store payload (text, title, heading path, document). */
  async function payloadOf(id: string, titleHint: string | null, doc: StoredDocument | null): Promise<VectorHit | null> {
    const title = titleHint?.replace(PART_SUFFIX, '') ?? '';
    if (title.trim() && !doc) {
      const hit = find(await deps.vectors.searchText(title, { limit: TEXT_LOOKUP_LIMIT }), id);
      if (hit) return hit;
    }
    if (!doc) return null;
    const terms = `${doc.title} ${title}`.trim();
    if (terms) {
      const hit = find(await deps.vectors.searchText(terms, { limit: TEXT_LOOKUP_LIMIT, tag: doc.tag }), id);
      if (hit) return hit;
    }
    const [vector] = await deps.embedder.embed([terms || id]);
    return vector ? find(await deps.vectors.searchVector(vector, { limit: VECTOR_LOOKUP_LIMIT, tag: doc.tag }), id) : null;
  }

  /** The document holding a section: remembered, else scanned for over every document's sections. */
  async function locate(id: string): Promise<StoredDocument | null> {
    const known = documentOf.get(id);
    if (known) return deps.graph.getDocument(known);
    const docs = await deps.graph.listDocuments();
    let found: StoredDocument | null = null;
    for (let i = 0; i < docs.length && !found; i += SCAN_CONCURRENCY) {
      const batch = docs.slice(i, i + SCAN_CONCURRENCY);
      const hashes = await Promise.all(batch.map((d) => deps.graph.sectionHashes(d.id)));
      hashes.forEach((list, k) => {
        for (const h of list) {
          remember(h.id, batch[k]!.id);
          if (h.id === id) found = batch[k]!;
        }
      });
    }
    return found;
  }

  async function getSection(id: string): Promise<SectionDetail> {
    const [self] = await deps.graph.expand([id]);
    if (!self) throw new McpBackendError('NOT_FOUND', `no section has id ${id} (deleted, or replaced by a newer version of its document)`);
    const neighbours = [self.previous, self.next].filter((r) => r !== null).map((r) => r.id);
    const titleHint = neighbours.length > 0 ? (titlesFrom(await deps.graph.expand(neighbours)).get(id) ?? null) : null;
    // The common path (a title known from the neighbours) needs no document; the others scan for it.
    let hit = documentOf.has(id) ? null : await payloadOf(id, titleHint, null);
    const doc = hit ? await deps.graph.getDocument(hit.documentId) : await locate(id);
    if (!doc) throw new McpBackendError('NOT_FOUND', `section ${id} is no longer stored`);
    hit ??= await payloadOf(id, titleHint, doc);
    remember(id, doc.id);
    return {
      section_id: id,
      document_id: doc.id,
      source_uri: doc.sourceUri,
      tag: doc.tag,
      document_title: doc.title,
      title: hit?.title ?? titleHint,
      heading_path: hit ? [...hit.headingPath] : null,
      text: hit?.text ?? null,
      parent: self.parent,
      previous: self.previous,
      next: self.next,
      entities: self.entities,
    };
  }

  async function outline(doc: StoredDocument): Promise<OutlineEntry[]> {
    const ids = (await deps.graph.sectionHashes(doc.id)).map((h) => h.id);
    ids.forEach((id) => remember(id, doc.id));
    const expansions = await expandAll(ids);
    const titles = titlesFrom(expansions.values());
    // A section nobody points at (the only one of its document) gets its title from its payload.
    for (const id of ids.filter((x) => !titles.has(x))) {
      const hit = await payloadOf(id, null, doc);
      titles.set(id, hit?.title ?? doc.title);
    }
    // The preamble (and its parts) has an empty heading path and the document title as its title.
    const preamble = sectionIdOf(doc.id, [], 0);
    const preambleIds = new Set([preamble, ...ids.map((_, k) => sectionPartId(preamble, k))]);
    const paths = new Map<string, string[]>();
    const pathOf = (id: string, seen = new Set<string>()): string[] => {
      const cached = paths.get(id);
      if (cached) return cached;
      if (preambleIds.has(id) || seen.has(id)) return [];
      seen.add(id);
      const parent = expansions.get(id)?.parent;
      const path = [...(parent ? pathOf(parent.id, seen) : []), (titles.get(id) ?? '').replace(PART_SUFFIX, '')];
      paths.set(id, path);
      return path;
    };
    const depthOf = (id: string): number => {
      let depth = 0;
      const seen = new Set([id]);
      for (let p = expansions.get(id)?.parent; p && !seen.has(p.id); p = expansions.get(p.id)?.parent) {
        seen.add(p.id);
        depth += 1;
      }
      return depth;
    };
    return ids.map((id, ordinal) => ({
      section_id: id,
      ordinal,
      title: titles.get(id) ?? '',
      heading_path: pathOf(id),
      depth: depthOf(id),
      parent_id: expansions.get(id)?.parent?.id ?? null,
    }));
  }

  return {
    async search(query, o) {
      const answer = await deps.query(query.slice(0, 2000), { limit: Math.max(1, Math.min(o.limit, MCP_SEARCH_MAX_LIMIT)), ...(o.tag ? { tag: o.tag } : {}) }).catch(unavailable);
      for (const e of answer.evidence) remember(e.section_id, e.document_id);
      return answer;
    },

    getSection: (id) => getSection(id).catch(unavailable),

    async listDocuments(tag) {
      const docs = await deps.graph.listDocuments(tag).catch(unavailable);
      return Promise.all(docs.map(summary));
    },

    async getDocument(sourceUri, tag) {
      let tags = tag ? [tag] : await deps.ledger.tagsOfSource(sourceUri);
      if (tags.length === 0) tags = (await deps.graph.listDocuments().catch(unavailable)).filter((d) => d.sourceUri === sourceUri).map((d) => d.tag);
      const docs = (await Promise.all(tags.map((t) => deps.graph.getDocument(documentIdOf(t, sourceUri))))).filter((d) => d !== null);
      if (docs.length > 1) {
        throw new McpBackendError('AMBIGUOUS', `${sourceUri} is ingested under several tags (${docs.map((d) => d.tag).sort().join(', ')}); pass tag`);
      }
      const doc = docs[0];
      if (!doc) {
        const statuses = await Promise.all(tags.map((t) => statusOf(documentIdOf(t, sourceUri))));
        const why = statuses.includes('DELETED') ? ' (deleted)' : statuses.some((s) => s !== 'UNKNOWN') ? ` (status ${statuses.join(', ')})` : '';
        throw new McpBackendError('NOT_FOUND', `no stored document has source_uri ${sourceUri}${tag ? ` under tag ${tag}` : ''}${why}`);
      }
      const [base, sections] = await Promise.all([summary(doc), outline(doc).catch(unavailable)]);
      return { ...base, pipeline_version: doc.pipelineVersion, sections };
    },
  };
}
