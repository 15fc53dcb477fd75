import {
  artifactKeys, ErrorCode, packVectors, PermanentError,
  type ArtifactStore, type Embedder, type EmbeddingsArtifact, type ParsedArtifact, type SectionRecord, type StageFn,
  type StageResultBase, type VectorStore,
} from '@ingest/shared';

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
  const existing = await deps.vectors.existingHashes(job.documentId, deps.embedder.version);
  const todo = parsed.sections.filter((s) => existing.get(s.id) !== s.contentHash);

  // Packed as they arrive: 9k sections as number[][] held ~28 MB of boxed arrays until the end.
  const dims = deps.embedder.dimensions;
  const packed = new Float32Array(todo.length * dims);
  let filled = 0;
  for (let i = 0; i < todo.length; i += deps.batchSize) {
    const batch = todo.slice(i, i + deps.batchSize);
    const out = await deps.embedder.embed(batch.map((s) => embeddingInput(s, parsed.title)), { signal: ctx.signal });
    if (out.length !== batch.length) {
      throw new PermanentError(ErrorCode.BadEmbedding, `the embedder returned ${out.length} vectors for ${batch.length} texts`);
    }
    for (const v of out) {
      if (v.length !== dims || v.some((x) => !Number.isFinite(x))) {
        throw new PermanentError(ErrorCode.BadEmbedding, `a vector has ${v.length} dimensions (expected ${dims}) or a non-finite value`);
      }
      packed.set(v, filled * dims);
      filled++;
    }
    if (todo.length > deps.batchSize) await ctx.progress(Math.round(((i + batch.length) / todo.length) * 100), 'embedding');
  }
  const artifact: EmbeddingsArtifact = {
    embeddingVersion: deps.embedder.version,
    dimensions: deps.embedder.dimensions,
    ids: todo.map((s) => s.id),
    data: packVectors(packed),
  };
  await deps.artifacts.putJson(artifactKeys.embeddings(job.jobId), artifact);
  return { v: 1, embeddingVersion: deps.embedder.version, counts: { embedded: todo.length, reused: parsed.sections.length - todo.length } };
};
