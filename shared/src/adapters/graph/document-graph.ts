/**
 * Row → domain mapping shared by LadybugDB and Neo4j: a stored Document, and a DocumentGraph (the
 * golden-state read of GraphStore.documentGraph) from the rows of its three statements — sections with
 * every property, edges with their properties, and the entities at the ends of MENTIONS and HAS_STEP edges.
 */
import type { SectionExpansion } from '../../domain/model.js';
import type { DocumentGraph, StoredDocument, StoredEdge } from '../../ports/graph-store.js';

type Row = Record<string, unknown>;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const EDGE_TYPES = new Set<string>(['FROM_DOCUMENT', 'NEXT_CHUNK', 'HAS_SUBSECTION', 'MENTIONS', 'REFERENCES', 'HAS_STEP']);

export function sectionOfRow(r: Row): DocumentGraph['sections'][number] {
  return {
    id: str(r.id), documentId: str(r.documentId), ordinal: num(r.ordinal), level: num(r.level), title: str(r.title),
    headingPath: Array.isArray(r.headingPath) ? r.headingPath.map(str) : [], anchor: str(r.anchor), text: str(r.text),
    tokenCount: num(r.tokenCount), contentHash: str(r.contentHash), generation: num(r.generation),
  };
}

/** Edges from `graphSectionEdges` rows (type, src, dst, count) and `graphSteps` rows (src, dst, stepOrder). */
export function edgesOfRows(sectionEdges: readonly Row[], steps: readonly Row[]): StoredEdge[] {
  const edges: StoredEdge[] = [];
  for (const r of sectionEdges) {
    const type = str(r.type);
    if (!EDGE_TYPES.has(type)) throw new Error(`unexpected relationship type ${type}`);
    edges.push({ type: type as StoredEdge['type'], from: str(r.src), to: str(r.dst), properties: type === 'MENTIONS' ? { count: num(r.count) } : {} });
  }
  for (const r of steps) edges.push({ type: 'HAS_STEP', from: str(r.src), to: str(r.dst), properties: { order: num(r.stepOrder) } });
  return edges;
}

/** Ids of the entities at the ends of MENTIONS and HAS_STEP edges. */
export function entityIdsOf(edges: readonly StoredEdge[]): string[] {
  const ids = new Set<string>();
  for (const e of edges) {
    if (e.type === 'MENTIONS') ids.add(e.to);
    if (e.type === 'HAS_STEP') { ids.add(e.from); ids.add(e.to); }
  }
  return [...ids].sort();
}

export const entityOfRow = (r: Row): DocumentGraph['entities'][number] => ({ id: str(r.id), kind: str(r.kind), name: str(r.name) });

/** A Document row (the statements' DOCUMENT_FIELDS aliases); unset completion fields stay null. */
export function toStoredDocument(r: Row): StoredDocument {
  return {
    id: str(r.id),
    sourceUri: str(r.sourceUri),
    tag: str(r.tag),
    title: str(r.title),
    checksum: str(r.checksum),
    generation: num(r.generation),
    completedGeneration: r.completedGeneration === null || r.completedGeneration === undefined ? null : num(r.completedGeneration),
    pipelineVersion: r.pipelineVersion === null || r.pipelineVersion === undefined ? null : str(r.pipelineVersion),
  };
}

type Neighbour = { id: string; title: string };

/** expand's answer from its reads: the sections found, in the order asked, each with parent, neighbours and entities. */
export function expansionsOf(
  ids: readonly string[], found: ReadonlySet<string>,
  parts: { parents: ReadonlyMap<string, Neighbour>; previous: ReadonlyMap<string, Neighbour>; next: ReadonlyMap<string, Neighbour>; entities: ReadonlyMap<string, SectionExpansion['entities'][number][]> },
): SectionExpansion[] {
  return ids
    .filter((id) => found.has(id))
    .map((id) => ({
      sectionId: id,
      parent: parts.parents.get(id) ?? null,
      previous: parts.previous.get(id) ?? null,
      next: parts.next.get(id) ?? null,
      entities: parts.entities.get(id) ?? [],
    }));
}
