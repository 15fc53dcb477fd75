import type { Embedder } from '../ports/embedder.js';
import type { GraphStore } from '../ports/graph-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import type { SectionExpansion, VectorHit } from '../domain/model.js';

export interface Evidence {
  readonly section_id: string;
  readonly document_id: string;
  readonly source_uri: string;
  readonly title: string;
  readonly heading_path: readonly string[];
  /** Quoted from the stored section text. */
  readonly snippet: string;
  /** Reciprocal-rank-fusion score. */
  readonly score: number;
  /** Which legs found it. */
  readonly legs: readonly ('vector' | 'lexical')[];
  /** Graph expansion: parent, neighbours and mentioned entities. */
  readonly context: Omit<SectionExpansion, 'sectionId'> | null;
}

export interface QueryAnswer {
  readonly query: string;
  readonly evidence: readonly Evidence[];
  readonly confidence: number;
}

export interface RetrievalDeps {
  readonly vectors: Pick<VectorStore, 'searchVector' | 'searchText'>;
  readonly graph: Pick<GraphStore, 'expand'>;
  readonly embedder: Pick<Embedder, 'embed'>;
}

export interface QueryOptions {
  readonly tag?: string;
  readonly limit: number;
  /** Candidates taken from each leg before fusion. */
  readonly legK: number;
  /** The k of reciprocal rank fusion (60 in the literature). */
  readonly rrfK: number;
  readonly legs?: { readonly vector: boolean; readonly lexical: boolean };
  readonly expand?: boolean;
}

const SNIPPET_CHARS = 320;

function snippetOf(text: string, query: string): string {
  const terms = query.toLowerCase().split(/\W+/).filter((t) => t.length > 2);
  const lower = text.toLowerCase();
  const at = terms.map((t) => lower.indexOf(t)).filter((i) => i >= 0).sort((a, b) => a - b)[0] ?? 0;
  const start = Math.max(0, at - 80);
  const out = text.slice(start, start + SNIPPET_CHARS).replace(/\s+/g, ' ').trim();
  return (start > 0 ? '…' : '') + out + (start + SNIPPET_CHARS < text.length ? '…' : '');
}

/**
 * Hybrid retrieval (DESIGN §5): vector top-k ∪ lexical top-k, fused by reciprocal rank, expanded through
 * the graph.
 *
 * confidence = fused score of the best hit ÷ the best fused score possible with the legs used (rank 1 in
 * every leg). So 1.0 means every leg put the same section first; 0.5 with two legs means one leg ranked it
 * first and the other did not find it; agreement between the legs is what raises it.
 */
export async function hybridQuery(deps: RetrievalDeps, query: string, o: QueryOptions): Promise<QueryAnswer> {
  const legs = o.legs ?? { vector: true, lexical: true };
  const filter = { limit: o.legK, ...(o.tag ? { tag: o.tag } : {}) };
  const [vectorHits, lexicalHits] = await Promise.all([
    legs.vector ? deps.embedder.embed([query]).then(([v]) => deps.vectors.searchVector(v!, filter)) : Promise.resolve([] as VectorHit[]),
    legs.lexical && query.trim() !== '' ? deps.vectors.searchText(query, filter) : Promise.resolve([] as VectorHit[]),
  ]);

  const fused = new Map<string, { hit: VectorHit; score: number; legs: ('vector' | 'lexical')[] }>();
  const add = (hits: readonly VectorHit[], leg: 'vector' | 'lexical') =>
    hits.forEach((hit, rank) => {
      const entry = fused.get(hit.id) ?? { hit, score: 0, legs: [] };
      entry.score += 1 / (o.rrfK + rank + 1);
      entry.legs.push(leg);
      fused.set(hit.id, entry);
    });
  add(vectorHits, 'vector');
  add(lexicalHits, 'lexical');

  const ranked = [...fused.values()].sort((a, b) => b.score - a.score || a.hit.id.localeCompare(b.hit.id)).slice(0, o.limit);
  const expansions = o.expand === false || ranked.length === 0 ? [] : await deps.graph.expand(ranked.map((r) => r.hit.id));
  const byId = new Map(expansions.map((e) => [e.sectionId, e]));
  const legCount = Number(legs.vector) + Number(legs.lexical);
  const best = legCount === 0 ? 1 : legCount / (o.rrfK + 1);
  const confidence = ranked.length === 0 ? 0 : Math.min(1, ranked[0]!.score / best);

  return {
    query,
    confidence: Math.round(confidence * 1000) / 1000,
    evidence: ranked.map(({ hit, score, legs: found }) => {
      const e = byId.get(hit.id);
      return {
        section_id: hit.id,
        document_id: hit.documentId,
        source_uri: hit.sourceUri,
        title: hit.title,
        heading_path: hit.headingPath,
        snippet: snippetOf(hit.text, query),
        score: Math.round(score * 1e6) / 1e6,
        legs: found,
        context: e ? { parent: e.parent, previous: e.previous, next: e.next, entities: e.entities } : null,
      };
    }),
  };
}
