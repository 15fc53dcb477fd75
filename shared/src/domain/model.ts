/**
 * Domain types shared by stages, ports and adapters (DESIGN §4, §5). Plain data, no I/O.
 * Field names follow the stored property names of DESIGN §5 in camelCase; adapters map them.
 */

/** Entity kinds are a closed allowlist: a kind never reaches a Cypher label unless it is listed here. */
export const ENTITY_KINDS = ['Command', 'Parameter', 'Procedure', 'Step'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];
export const isEntityKind = (k: string): k is EntityKind => (ENTITY_KINDS as readonly string[]).includes(k);

export interface DocumentRecord {
  readonly id: string;
  readonly sourceUri: string;
  readonly tag: string;
  readonly title: string;
  readonly checksum: string;
  readonly generation: number;
  readonly contentType: string;
  /** ISO-8601 UTC. */
  readonly updatedAt: string;
}

export interface SectionRecord {
  readonly id: string;
  readonly documentId: string;
  /** 0-based position in document order. */
  readonly ordinal: number;
  /** Heading level 1–6; 0 for the preamble before the first heading. */
  readonly level: number;
  readonly title: string;
  /** Heading titles from the top of the document down to this section, this one included. */
  readonly headingPath: readonly string[];
  /** GitHub-style anchor of the heading ('' for the preamble). */
  readonly anchor: string;
  readonly text: string;
  readonly tokenCount: number;
  /** sha256 hex of `text`. */
  readonly contentHash: string;
  /** Parent section (HAS_SUBSECTION from the parent to this one), or null at top level. */
  readonly parentId: string | null;
}

export interface EntityRecord {
  readonly id: string;
  readonly kind: EntityKind;
  readonly name: string;
}

/** (:Section)-[:MENTIONS {count}]->(:Entity) */
export interface MentionRecord {
  readonly sectionId: string;
  readonly entityId: string;
  readonly count: number;
}

/** (:Procedure)-[:HAS_STEP {order}]->(:Step) */
export interface StepRecord {
  readonly procedureId: string;
  readonly stepId: string;
  readonly order: number;
}

/**
 * (:Section)-[:REFERENCES]->(:Document|:Section). Targets are ids computed from the link, so a reference
 * to a document not ingested yet simply has no target node; adapters create the edge only when the
 * target exists.
 */
export interface ReferenceRecord {
  readonly sectionId: string;
  readonly targetKind: 'Document' | 'Section';
  readonly targetId: string;
}

/** Everything the graph stage writes for one document version. */
export interface GraphDocumentVersion {
  readonly document: DocumentRecord;
  readonly sections: readonly SectionRecord[];
  readonly entities: readonly EntityRecord[];
  readonly mentions: readonly MentionRecord[];
  readonly steps: readonly StepRecord[];
  readonly references: readonly ReferenceRecord[];
}

/** A (sectionId, contentHash) pair as seen by one store; the unit of parity (DESIGN §5 verify). */
export interface SectionHash {
  readonly id: string;
  readonly contentHash: string;
  readonly generation: number;
}

export interface VectorPoint {
  /** = sectionId */
  readonly id: string;
  readonly documentId: string;
  readonly sourceUri: string;
  readonly tag: string;
  readonly title: string;
  readonly headingPath: readonly string[];
  readonly text: string;
  readonly contentHash: string;
  readonly generation: number;
  readonly embeddingVersion: string;
  /** A Float32Array too: the vector stage hands over views of the embed artifact's floats, uncopied. */
  readonly vector: readonly number[] | Float32Array;
}

export interface VectorHit {
  readonly id: string;
  readonly documentId: string;
  readonly sourceUri: string;
  readonly tag: string;
  readonly title: string;
  readonly headingPath: readonly string[];
  readonly text: string;
  /** Higher is better; scale depends on the leg (cosine similarity, BM25). */
  readonly score: number;
}

export interface SectionExpansion {
  readonly sectionId: string;
  readonly parent: { id: string; title: string } | null;
  readonly previous: { id: string; title: string } | null;
  readonly next: { id: string; title: string } | null;
  readonly entities: readonly { id: string; kind: EntityKind; name: string }[];
}
