import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Runtime } from '@ingest/shared';

/**
 * One tag's stored state, sorted, for comparing two runs (chaos suite golden state, reconcile): every
 * node, relationship and point with a hash over all its stored properties. Duplicates are kept (a node,
 * edge or point stored twice shows twice) so that a caller can count them.
 *
 * Generations are included: they are allocated per document by the ledger (1 for a first ingest), so the
 * same documents submitted once give the same numbers in every run, and a store write that went back to
 * an older version is a difference worth seeing.
 */
export interface TagState {
  readonly tag: string;
  readonly documents: { id: string; source_uri: string; checksum: string; title: string; completed: boolean }[];
  /** Section nodes; hash over title, heading path, anchor, text, level, ordinal, token count, content hash, generation. */
  readonly sections: { id: string; document_id: string; content_hash: string; hash: string }[];
  /** Entity nodes at the end of the tag's MENTIONS and HAS_STEP edges (each once per tag). */
  readonly entities: { id: string; kind: string; name: string; hash: string }[];
  /** Edges leaving the tag's sections, and HAS_STEP of the procedures they mention, per document; hash over the properties. */
  readonly relationships: { document_id: string; type: string; from: string; to: string; hash: string }[];
  /** Vector points; hash over the whole payload and the vector. */
  readonly points: { id: string; document_id: string; content_hash: string; embedding_version: string; hash: string }[];
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** JSON with object keys sorted, so equal values hash equal whatever the order a store returned keys in. */
const canonical = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(canonical).join(',')}]`
    : v !== null && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`
      : JSON.stringify(v);
export const propertyHash = (v: unknown): string => createHash('sha256').update(canonical(v)).digest('hex').slice(0, 16);

export async function readTagState(rt: Runtime, tag: string): Promise<TagState> {
  const docs = await rt.graph.listDocuments(tag);
  const sections: TagState['sections'] = [];
  const entities = new Map<string, TagState['entities'][number]>();
  const relationships: TagState['relationships'] = [];
  const points: TagState['points'] = [];
  for (const d of docs) {
    const g = await rt.graph.documentGraph(d.id);
    for (const s of g.sections) sections.push({ id: s.id, document_id: d.id, content_hash: s.contentHash, hash: propertyHash(s) });
    for (const e of g.entities) entities.set(`${e.id} ${propertyHash(e)}`, { ...e, hash: propertyHash(e) });
    for (const r of g.edges) relationships.push({ document_id: d.id, type: r.type, from: r.from, to: r.to, hash: propertyHash(r.properties) });
    for (const p of await rt.vectors.fullPoints(d.id)) {
      points.push({ id: p.id, document_id: d.id, content_hash: p.contentHash, embedding_version: p.embeddingVersion, hash: propertyHash(p) });
    }
  }
  return {
    tag,
    documents: docs.map((d) => ({ id: d.id, source_uri: d.sourceUri, checksum: d.checksum, title: d.title, completed: d.completedGeneration === d.generation }))
      .sort(byKey((d) => d.id)),
    sections: sections.sort(byKey((s) => `${s.id}/${s.hash}`)),
    entities: [...entities.values()].sort(byKey((e) => `${e.id}/${e.hash}`)),
    relationships: relationships.sort(byKey((r) => `${r.document_id}/${r.type}/${r.from}/${r.to}/${r.hash}`)),
    points: points.sort(byKey((p) => `${p.id}/${p.hash}`)),
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
