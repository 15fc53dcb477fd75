import type { GraphDocumentVersion, SectionExpansion, SectionHash } from '../domain/model.js';

export interface GraphWriteResult {
  /** False when the stored document generation is newer than the version offered (the fence held). */
  readonly applied: boolean;
  readonly sectionsWritten: number;
  readonly entitiesWritten: number;
  readonly mentionsWritten: number;
}

export interface StoredDocument {
  readonly id: string;
  readonly sourceUri: string;
  readonly tag: string;
  readonly title: string;
  readonly checksum: string;
  readonly generation: number;
  readonly completedGeneration: number | null;
  readonly pipelineVersion: string | null;
}

/** A stored section as read back (what MCP's get_section and document outlines show). */
export interface StoredSection {
  readonly id: string;
  readonly documentId: string;
  readonly ordinal: number;
  readonly level: number;
  readonly title: string;
  readonly headingPath: readonly string[];
  readonly anchor: string;
  readonly text: string;
  readonly contentHash: string;
  readonly generation: number;
}

/** A relationship as stored: its type, endpoint ids and properties (MENTIONS.count, HAS_STEP.order). */
export interface StoredEdge {
  readonly type: 'FROM_DOCUMENT' | 'NEXT_CHUNK' | 'HAS_SUBSECTION' | 'MENTIONS' | 'REFERENCES' | 'HAS_STEP';
  readonly from: string;
  readonly to: string;
  readonly properties: Readonly<Record<string, number>>;
}

/**
 * Everything the graph holds for one document, for comparing two runs (chaos suite golden state): its
 * sections with every stored property, every edge leaving them, the HAS_STEP edges of the procedures they
 * mention, and the entities at the ends of those edges. Duplicates are kept (a node or edge stored twice
 * shows twice).
 */
export interface DocumentGraph {
  readonly sections: readonly (StoredSection & { readonly tokenCount: number })[];
  readonly entities: readonly { readonly id: string; readonly kind: string; readonly name: string }[];
  readonly edges: readonly StoredEdge[];
}

export interface GraphCounts {
  readonly documents: number;
  readonly sections: number;
  readonly entities: number;
  readonly mentions: number;
  readonly edges: number;
}

/**
 * The lexical graph of DESIGN §5.
 *
 * Contract (shared/test/contract/graph-store.contract.ts, run against every implementation):
 * - writeVersion upserts the Document and its Sections keyed by id, stamps them with the generation and
 *   refuses (applied=false, nothing written) when the stored Document generation is newer;
 * - for every section it writes it replaces all outgoing NEXT_CHUNK, HAS_SUBSECTION, MENTIONS, REFERENCES
 *   edges, and HAS_STEP of procedures scoped to those sections;
 * - removeSectionsExcept deletes the document's sections whose ids are not kept (with their edges);
 * - deleteDocument removes the document, its sections and their edges; entities stay for the janitor;
 * - concurrent calls from many jobs never duplicate or lose a node or edge;
 * - transient failures throw RetryableError, bad input PermanentError.
 */
export interface GraphStore {
  readonly kind: string;
  writeVersion(version: GraphDocumentVersion): Promise<GraphWriteResult>;
  removeSectionsExcept(documentId: string, keepSectionIds: readonly string[]): Promise<number>;
  deleteDocument(documentId: string): Promise<number>;
  sectionHashes(documentId: string): Promise<SectionHash[]>;
  getDocument(documentId: string): Promise<StoredDocument | null>;
  listDocuments(tag?: string): Promise<StoredDocument[]>;
  markCompleted(documentId: string, generation: number, pipelineVersion: string): Promise<void>;
  /** The stored sections with these ids (unknown ids left out), in the order asked. */
  getSections(ids: readonly string[]): Promise<StoredSection[]>;
  /** A document's sections in document order. */
  sectionsOf(documentId: string): Promise<StoredSection[]>;
  /** Parent, neighbours and mentioned entities of each section, for retrieval evidence. */
  expand(sectionIds: readonly string[]): Promise<SectionExpansion[]>;
  /** Deletes entities mentioned by nothing (re-checked inside the delete); returns how many. */
  removeOrphanEntities(): Promise<number>;
  counts(documentId?: string): Promise<GraphCounts>;
  /** The whole stored subgraph of one document (golden-state comparison). */
  documentGraph(documentId: string): Promise<DocumentGraph>;
  /** Mentions of one section as (entityId → count); used by tests and reconcile. */
  mentionsOf(sectionId: string): Promise<Map<string, number>>;
  close(): Promise<void>;
}
