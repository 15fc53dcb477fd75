import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Runtime } from '@ingest/shared';

/** One tag's stored state, sorted, for comparing two runs (chaos suite golden state, reconcile). */
export interface TagState {
  readonly tag: string;
  readonly documents: { id: string; source_uri: string; checksum: string; title: string; completed: boolean }[];
  /** Every stored section row (duplicates kept, so a caller can count them). */
  readonly sections: { id: string; document_id: string; content_hash: string }[];
  /** Every stored vector point (duplicates kept). */
  readonly points: { id: string; document_id: string; content_hash: string; embedding_version: string }[];
  /** Per document: mentions and edges of its sections (the relationship counts of the graph). */
  readonly relationships: { document_id: string; mentions: number; edges: number; entities: number }[];
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

export async function readTagState(rt: Runtime, tag: string): Promise<TagState> {
  const docs = await rt.graph.listDocuments(tag);
  const sections: TagState['sections'] = [];
  const points: TagState['points'] = [];
  const relationships: TagState['relationships'] = [];
  for (const d of docs) {
    for (const s of await rt.graph.sectionsOf(d.id)) sections.push({ id: s.id, document_id: d.id, content_hash: s.contentHash });
    for (const p of await rt.vectors.points(d.id)) {
      points.push({ id: p.id, document_id: d.id, content_hash: p.contentHash, embedding_version: p.embeddingVersion });
    }
    const c = await rt.graph.counts(d.id);
    relationships.push({ document_id: d.id, mentions: c.mentions, edges: c.edges, entities: c.entities });
  }
  return {
    tag,
    documents: docs.map((d) => ({ id: d.id, source_uri: d.sourceUri, checksum: d.checksum, title: d.title, completed: d.completedGeneration === d.generation }))
      .sort(byKey((d) => d.id)),
    sections: sections.sort(byKey((s) => `${s.id}/${s.content_hash}`)),
    points: points.sort(byKey((p) => `${p.id}/${p.content_hash}`)),
    relationships: relationships.sort(byKey((r) => r.document_id)),
  };
}

/** GET /api/state/:tag — read-only. */
export function createStateRouter(rt: Runtime): Router {
  const r = express.Router();
  r.get('/state/:tag', (req: Request, res: Response, next: NextFunction) => {
    readTagState(rt, String(req.params.tag)).then((s) => res.json(s), next);
  });
  return r;
}
