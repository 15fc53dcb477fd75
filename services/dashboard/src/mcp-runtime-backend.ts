import {
  RetryableError, documentId as documentIdOf,
  type GraphStore, type Ledger, type Runtime, type SectionExpansion, type StoredDocument,
} from '@ingest/shared';
import {
  McpBackendError, MCP_SEARCH_MAX_LIMIT, type DocumentSummary, type McpBackend, type OutlineEntry, type SectionDetail,
} from './mcp-backend.js';

/**
 * The MCP backend of the dashboard process: straight onto the Runtime's stores, so a document is
 * answerable the moment its stores hold it (its job is DONE) and gone once its delete chain ran.
 * Sections are read back from the graph (text, heading path), with parent, neighbours and entities
 * from its expansion.
 */

export interface RuntimeBackendDeps {
  readonly graph: Pick<GraphStore, 'expand' | 'getSections' | 'sectionsOf' | 'getDocument' | 'listDocuments'>;
  readonly ledger: Pick<Ledger, 'get' | 'tagsOfSource'>;
  readonly query: Runtime['query'];
}

const EXPAND_BATCH = 500;
const byRuntime = new WeakMap<Runtime, McpBackend>();

/** One backend per Runtime (the /mcp router and the REST routes share it). */
export function createRuntimeBackend(rt: Runtime): McpBackend {
  let backend = byRuntime.get(rt);
  if (!backend) {
    backend = runtimeBackend({ graph: rt.graph, ledger: rt.pipeline.ledger, query: (q, o) => rt.query(q, o) });
    byRuntime.set(rt, backend);
  }
  return backend;
}

const unavailable = (error: unknown): never => {
  if (error instanceof RetryableError) throw new McpBackendError('UNAVAILABLE', error.message);
  throw error;
};

export function runtimeBackend(deps: RuntimeBackendDeps): McpBackend {
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

  async function getSection(id: string): Promise<SectionDetail> {
    const [section] = await deps.graph.getSections([id]);
    if (!section) throw new McpBackendError('NOT_FOUND', `no section has id ${id} (deleted, or replaced by a newer version of its document)`);
    const [[self], doc] = await Promise.all([deps.graph.expand([id]), deps.graph.getDocument(section.documentId)]);
    if (!doc) throw new McpBackendError('NOT_FOUND', `section ${id} is no longer stored`);
    return {
      section_id: id,
      document_id: doc.id,
      source_uri: doc.sourceUri,
      tag: doc.tag,
      document_title: doc.title,
      title: section.title,
      heading_path: [...section.headingPath],
      text: section.text,
      parent: self?.parent ?? null,
      previous: self?.previous ?? null,
      next: self?.next ?? null,
      entities: self?.entities ?? [],
    };
  }

  async function outline(doc: StoredDocument): Promise<OutlineEntry[]> {
    const sections = await deps.graph.sectionsOf(doc.id);
    const expansions = await expandAll(sections.map((x) => x.id));
    const depthOf = (id: string): number => {
      let depth = 0;
      const seen = new Set([id]);
      for (let p = expansions.get(id)?.parent; p && !seen.has(p.id); p = expansions.get(p.id)?.parent) {
        seen.add(p.id);
        depth += 1;
      }
      return depth;
    };
    return sections.map((x, ordinal) => ({
      section_id: x.id,
      ordinal,
      title: x.title,
      heading_path: [...x.headingPath],
      depth: depthOf(x.id),
      parent_id: expansions.get(x.id)?.parent?.id ?? null,
    }));
  }

  return {
    async search(query, o) {
      return deps.query(query.slice(0, 2000), { limit: Math.max(1, Math.min(o.limit, MCP_SEARCH_MAX_LIMIT)), ...(o.tag ? { tag: o.tag } : {}) }).catch(unavailable);
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
