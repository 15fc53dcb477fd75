import type { EntityRecord, MentionRecord, ReferenceRecord, SectionRecord, StepRecord } from '../domain/model.js';

/** parse → `parsed.json` */
export interface ParsedArtifact {
  readonly title: string;
  readonly description: string | null;
  readonly tags: readonly string[];
  readonly sections: readonly SectionRecord[];
  readonly links: readonly { sectionId: string; url: string }[];
}

/** extract → `extracted.json` */
export interface ExtractedArtifact {
  readonly entities: readonly EntityRecord[];
  readonly mentions: readonly MentionRecord[];
  readonly steps: readonly StepRecord[];
  readonly references: readonly ReferenceRecord[];
}

/** embed → `embeddings.json`: only the sections that had no vector for their content yet. */
export interface EmbeddingsArtifact {
  readonly embeddingVersion: string;
  readonly dimensions: number;
  readonly ids: readonly string[];
  /** Float32 little-endian, ids.length × dimensions, base64. */
  readonly data: string;
}

/** Vectors laid end to end (count × dimensions) → the artifact's base64 form. */
export function packVectors(packed: Float32Array): string {
  return Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('base64');
}

/** The artifact's vectors laid end to end, as floats (one copy of the bytes, no per-vector arrays). */
export function decodeVectors(data: string): Float32Array {
  const bytes = Buffer.from(data, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

export function unpackVectors(data: string, count: number, dimensions: number): number[][] {
  const floats = decodeVectors(data);
  return Array.from({ length: count }, (_, i) => Array.from(floats.subarray(i * dimensions, (i + 1) * dimensions)));
}
