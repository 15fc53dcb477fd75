import {
  artifactKeys, ErrorCode, PermanentError,
  type ArtifactStore, type Embedder, type ParsedArtifact, type SectionRecord, type StageFn,
  type StageResultBase, type VectorStore,
} from '@ingest/shared';
import { EmbeddingsArtifactWriter } from './embeddings-writer.js';

export interface EmbedDeps {
  readonly artifacts: ArtifactStore;
  readonly embedder: Embedder;
  /** Read-only here: which (section, content_hash) pairs already have a vector of this embedding version. */
  readonly vectors: Pick<VectorStore, 'existingHashes'>;
  readonly batchSize: number;
}

export interface EmbedResult extends StageResultBase {
  readonly embeddingVersion: string;
}

/**
 * What is embedded for a section: its title path — the document title, then the heading path — and its
 * text (DESIGN §5 embed). The document title matters most for sections of pages without an H1 (generated
 * command references), whose heading path is empty.
 */
export function embeddingInput(s: SectionRecord, documentTitle: string): string {
  const path = s.headingPath[0] === documentTitle ? s.headingPath : [documentTitle, ...s.headingPath];
  return `${path.filter((p) => p !== '').join(' > ')}\n${s.text}`;
}

/** Embeds only sections whose content has no vector of this embedding version yet. */
export const embedStage: StageFn<EmbedDeps, StageResultBase, EmbedResult> = async ({ job }, deps, ctx) => {
  const parsed = await deps.artifacts.getJson<ParsedArtifact>(artifactKeys.parsed(job.jobId));
  if (!parsed) throw new PermanentError(ErrorCode.MissingArtifact, 'the parsed sections of this version are gone');
  // A first version has nothing to reuse: no earlier generation of this document was ever admitted, so the
  // read (in the process that holds the stores, 10-18 ms there under load) is skipped. Were vectors stored
  // anyway (a ledger lost and not rebuilt), they would be embedded again: the same vectors, the same outcome.
  const existing = job.generation > 1 ? await deps.vectors.existingHashes(job.documentId, deps.embedder.version) : new Map<string, string>();
  const todo = parsed.sections.filter((s) => existing.get(s.id) !== s.contentHash);

  // Written into the artifact batch by batch (embeddings-writer.ts): no array of all vectors is ever held.
  const dims = deps.embedder.dimensions;
  const writer = new EmbeddingsArtifactWriter({ embeddingVersion: deps.embedder.version, dimensions: dims, ids: todo.map((s) => s.id) });
  // One batch buffer for all batches: a new one each time left 14 MB of dead ArrayBuffers for the GC to find.
  const batchVectors = new Float32Array(Math.min(todo.length, deps.batchSize) * dims);
  for (let i = 0; i < todo.length; i += deps.batchSize) {
    const batch = todo.slice(i, i + deps.batchSize);
    const out = await deps.embedder.embed(batch.map((s) => embeddingInput(s, parsed.title)), { signal: ctx.signal });
    if (out.length !== batch.length) {
      throw new PermanentError(ErrorCode.BadEmbedding, `the embedder returned ${out.length} vectors for ${batch.length} texts`);
    }
    const packed = batchVectors.subarray(0, batch.length * dims);
    out.forEach((v, j) => {
      if (v.length !== dims || v.some((x) => !Number.isFinite(x))) {
        throw new PermanentError(ErrorCode.BadEmbedding, `a vector has ${v.length} dimensions (expected ${dims}) or a non-finite value`);
      }
      packed.set(v, j * dims);
    });
    writer.add(packed);
    if (todo.length > deps.batchSize) await ctx.progress(Math.round(((i + batch.length) / todo.length) * 100), 'embedding');
  }
  await deps.artifacts.put(artifactKeys.embeddings(job.jobId), writer.finish());
  return { v: 1, embeddingVersion: deps.embedder.version, counts: { embedded: todo.length, reused: parsed.sections.length - todo.length } };
};
