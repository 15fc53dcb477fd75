import type { VectorHit, VectorPoint } from '../domain/model.js';

export interface StoredPoint {
  readonly id: string;
  readonly contentHash: string;
  readonly generation: number;
  readonly embeddingVersion: string;
}

export interface SearchOptions {
  readonly limit: number;
  readonly tag?: string;
}

/**
 * Section vectors plus the lexical (full-text) leg of hybrid retrieval (DESIGN §5).
 *
 * Contract (shared/test/contract/vector-store.contract.ts):
 * - upsert is keyed by point id; a point whose stored generation is newer than the offered one is kept;
 *   returns how many points were written;
 * - existingHashes(docId, embeddingVersion) returns id → contentHash of stored points of that version;
 * - deleteDocumentExcept removes the document's points not kept; deleteDocument removes all of them;
 * - searchVector orders by descending similarity, searchText by descending BM25-style score; both
 *   filter by tag when given and see writes as soon as upsert resolves;
 * - concurrent upserts from many jobs never duplicate or lose a point.
 */
export interface VectorStore {
  readonly kind: string;
  readonly dimensions: number;
  upsert(points: readonly VectorPoint[]): Promise<number>;
  existingHashes(documentId: string, embeddingVersion: string): Promise<Map<string, string>>;
  points(documentId: string): Promise<StoredPoint[]>;
  /** A document's points with payload and vector as stored, duplicates kept (golden-state comparison). */
  fullPoints(documentId: string): Promise<VectorPoint[]>;
  deleteDocumentExcept(documentId: string, keepIds: readonly string[]): Promise<number>;
  deleteDocument(documentId: string): Promise<number>;
  searchVector(vector: readonly number[], options: SearchOptions): Promise<VectorHit[]>;
  searchText(query: string, options: SearchOptions): Promise<VectorHit[]>;
  count(documentId?: string): Promise<number>;
  close(): Promise<void>;
}
