/**
 * The lexical leg for Qdrant (DESIGN §5 hybrid retrieval): a section's text as a sparse vector of hashed
 * terms, for a named sparse vector with Qdrant's `idf` modifier — the server multiplies each query term by
 * its inverse document frequency, the client supplies the term-frequency part, which together ranks like
 * BM25.
 *
 * Terms come from the hash embedder's tokeniser (one notion of a "word" across the project): lowercase NFKC
 * tokens, flags and compounds kept whole and also split (`redis-cli` → `redis-cli`, `redis`, `cli`;
 * `--port` → `--port`, `port`), so a query for `redis` meets `redis-cli`. Each term is hashed to a u32
 * (FNV-1a, mixed) client-side; hash collisions merge into one index.
 *
 * Document side: BM25's saturating term frequency tf·(k1+1) / (tf + k1·(1 − b + b·len/avgLen)), with a
 * fixed average length (sections are capped at a few hundred tokens, DESIGN §5 parse). Query side: weight 1
 * per distinct term. Bumping anything here changes stored vectors: bump SPARSE_VERSION.
 */
import { fnv1a32, tokenise } from '../embedder/hash-embedder.js';

export const SPARSE_VERSION = 'bm25-fnv1a-v1';
const K1 = 1.2;
const B = 0.75;
const AVG_LENGTH = 256;
/** Query terms kept from one query (the rest is noise and cost). */
export const MAX_QUERY_TERMS = 64;
/** Tokens read from one section (≈ the 800-token cap several times over). */
const MAX_DOCUMENT_TOKENS = 20_000;

export interface SparseVector {
  indices: number[];
  values: number[];
}

/** Terms of a text in order: each token, then its parts (bare flag name, compound parts). */
export function lexicalTerms(text: string, maxTokens = MAX_DOCUMENT_TOKENS): string[] {
  const out: string[] = [];
  for (const token of tokenise(text).slice(0, maxTokens)) {
    out.push(token);
    const bare = token.replace(/^-+/, '');
    if (bare !== token && bare) out.push(bare);
    const parts = bare.split(/[-_.]+/).filter(Boolean);
    if (parts.length > 1) out.push(...parts);
  }
  return out;
}

const termIndex = (term: string): number => fnv1a32(`t\u0001${term}`);

function sorted(weights: Map<number, number>): SparseVector {
  const indices = [...weights.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => weights.get(i)!) };
}

/** The stored sparse vector of a section's searchable text (heading path and text). */
export function sparseDocument(text: string): SparseVector {
  const terms = lexicalTerms(text);
  const tf = new Map<number, number>();
  for (const term of terms) {
    const i = termIndex(term);
    tf.set(i, (tf.get(i) ?? 0) + 1);
  }
  const norm = 1 - B + B * (terms.length / AVG_LENGTH);
  const weights = new Map<number, number>();
  for (const [i, f] of tf) weights.set(i, (f * (K1 + 1)) / (f + K1 * norm));
  return sorted(weights);
}

/** The query sparse vector: weight 1 per distinct term (the server applies idf). Empty when no term. */
export function sparseQuery(query: string): SparseVector {
  const weights = new Map<number, number>();
  for (const term of lexicalTerms(query, MAX_QUERY_TERMS)) {
    if (weights.size >= MAX_QUERY_TERMS) break;
    weights.set(termIndex(term), 1);
  }
  return sorted(weights);
}
