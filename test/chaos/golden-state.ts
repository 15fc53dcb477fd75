// Golden state (issue 6): a tag's stored documents, section and entity nodes, relationships and vector
// points, each with a hash over its stored properties, read through the API of a running system, and a
// comparator that names every difference. Duplicates are kept in the read state so that count == distinct
// can be checked.
import type { ApiClient } from '../../services/cli/src/client.js';
import type { TagState } from '../../services/dashboard/src/state-routes.js';

export type { TagState };

export async function readState(api: ApiClient, tag: string): Promise<TagState> {
  return api.ok<TagState>('GET', `/api/state/${encodeURIComponent(tag)}`);
}

const dupes = (keys: string[]): string[] => {
  const seen = new Set<string>();
  const out = new Set<string>();
  for (const k of keys) (seen.has(k) ? out : seen).add(k);
  return [...out];
};

/** One line per stored item: identity first, then the property hash. */
const KEYS = {
  document: (x: TagState['documents'][number]) => `${x.id} ${x.source_uri} ${x.checksum} ${x.title} completed=${x.completed}`,
  section: (x: TagState['sections'][number]) => `${x.document_id}/${x.id} ${x.content_hash} #${x.hash}`,
  entity: (x: TagState['entities'][number]) => `${x.kind} ${x.id} ${JSON.stringify(x.name)} #${x.hash}`,
  relationship: (x: TagState['relationships'][number]) => `${x.document_id}: ${x.type} ${x.from} → ${x.to} #${x.hash}`,
  point: (x: TagState['points'][number]) => `${x.document_id}/${x.id} ${x.content_hash} ${x.embedding_version} #${x.hash}`,
};

type Duplicates = { documents: string[]; sections: string[]; points: string[] };

/** Ids stored more than once (a section or point written twice under one id, or a document listed twice). */
export function duplicatesOf(s: TagState): Duplicates {
  return {
    documents: dupes(s.documents.map((d) => d.id)),
    sections: dupes(s.sections.map((x) => x.id)),
    points: dupes(s.points.map((x) => x.id)),
  };
}

export const NO_DUPLICATES: Duplicates = { documents: [], sections: [], points: [] };

/** Edges stored more than once between the same two nodes (an edge CREATEd twice by a replayed write). */
export const duplicateEdges = (s: TagState): string[] => dupes(s.relationships.map((x) => `${x.document_id}: ${x.type} ${x.from} → ${x.to}`));

function diffSets(kind: string, expected: string[], actual: string[]): string[] {
  const e = new Set(expected);
  const a = new Set(actual);
  return [
    ...[...e].filter((k) => !a.has(k)).map((k) => `${kind} missing: ${k}`),
    ...[...a].filter((k) => !e.has(k)).map((k) => `${kind} extra: ${k}`),
  ];
}

/** Every difference between a golden state and another run's state (empty when equal). */
export function compareStates(golden: TagState, actual: TagState): string[] {
  const d = { ...duplicatesOf(actual), relationships: duplicateEdges(actual) };
  const count = (kind: string, a: number, g: number) => (a !== g ? [`${kind} count ${a} ≠ golden ${g}`] : []);
  return [
    ...diffSets('document', golden.documents.map(KEYS.document), actual.documents.map(KEYS.document)),
    ...diffSets('section', golden.sections.map(KEYS.section), actual.sections.map(KEYS.section)),
    ...diffSets('entity', golden.entities.map(KEYS.entity), actual.entities.map(KEYS.entity)),
    ...diffSets('relationship', golden.relationships.map(KEYS.relationship), actual.relationships.map(KEYS.relationship)),
    ...diffSets('point', golden.points.map(KEYS.point), actual.points.map(KEYS.point)),
    ...count('section', actual.sections.length, golden.sections.length),
    ...count('entity', actual.entities.length, golden.entities.length),
    ...count('relationship', actual.relationships.length, golden.relationships.length),
    ...count('point', actual.points.length, golden.points.length),
    ...d.documents.map((k) => `duplicate document: ${k}`),
    ...d.sections.map((k) => `duplicate section: ${k}`),
    ...d.points.map((k) => `duplicate point: ${k}`),
    ...d.relationships.map((k) => `duplicate relationship: ${k}`),
  ];
}
