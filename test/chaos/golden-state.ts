// Golden state (issue 6): a tag's stored documents, sections (id, content hash), vector points and
// relationship counts, read through the API of a running system, and a comparator that names every
// difference. Duplicates are kept in the read state so that count == distinct can be checked.
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

/** Ids stored more than once (a section or point written twice under one id, or a document listed twice). */
export function duplicatesOf(s: TagState): { documents: string[]; sections: string[]; points: string[] } {
  return {
    documents: dupes(s.documents.map((d) => d.id)),
    sections: dupes(s.sections.map((x) => x.id)),
    points: dupes(s.points.map((x) => x.id)),
  };
}

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
  const d = duplicatesOf(actual);
  return [
    ...diffSets('document', golden.documents.map((x) => `${x.id} ${x.source_uri} ${x.checksum} ${x.title} completed=${x.completed}`),
      actual.documents.map((x) => `${x.id} ${x.source_uri} ${x.checksum} ${x.title} completed=${x.completed}`)),
    ...diffSets('section', golden.sections.map((x) => `${x.document_id}/${x.id} ${x.content_hash}`), actual.sections.map((x) => `${x.document_id}/${x.id} ${x.content_hash}`)),
    ...diffSets('point', golden.points.map((x) => `${x.document_id}/${x.id} ${x.content_hash} ${x.embedding_version}`),
      actual.points.map((x) => `${x.document_id}/${x.id} ${x.content_hash} ${x.embedding_version}`)),
    ...diffSets('relationships', golden.relationships.map((x) => JSON.stringify(x)), actual.relationships.map((x) => JSON.stringify(x))),
    ...(actual.sections.length !== golden.sections.length ? [`section count ${actual.sections.length} ≠ golden ${golden.sections.length}`] : []),
    ...(actual.points.length !== golden.points.length ? [`point count ${actual.points.length} ≠ golden ${golden.points.length}`] : []),
    ...d.documents.map((k) => `duplicate document: ${k}`),
    ...d.sections.map((k) => `duplicate section: ${k}`),
    ...d.points.map((k) => `duplicate point: ${k}`),
  ];
}
