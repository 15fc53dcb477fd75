import {
  artifactKeys, ErrorCode, PermanentError,
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
  await deps.artifacts.put(
    artifactKeys.embeddings(job.jobId),
    embeddingsArtifactBytes({ embeddingVersion: deps.embedder.version, dimensions: dims, ids: todo.map((s) => s.id) }, packed),
  );
  return { v: 1, embeddingVersion: deps.embedder.version, counts: { embedded: todo.length, reused: parsed.sections.length - todo.length } };
};

/** Bytes of vectors base64-encoded per step: a multiple of 3, so the pieces join into one valid base64 text. */
const BASE64_STEP = 3 * 16 * 1024;

/**
 * `JSON.stringify(artifact)` as UTF-8 bytes (the same bytes, key order included), written straight into one
 * buffer: the vectors are encoded 48 KB at a time. For a 3 MB document (9,213 vectors × 384 dimensions) the
 * base64 text alone is 19 MB, and putJson held it three times over (the base64 string, the JSON string and
 * its Buffer) next to the 14 MB Float32Array.
 */
export function embeddingsArtifactBytes(meta: Omit<EmbeddingsArtifact, 'data'>, packed: Float32Array): Buffer {
  const head = `${JSON.stringify({ embeddingVersion: meta.embeddingVersion, dimensions: meta.dimensions, ids: meta.ids }).slice(0, -1)},"data":"`;
  const bytes = new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
  const headBytes = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headBytes + 4 * Math.ceil(bytes.byteLength / 3) + 2);
  let at = out.write(head, 0, 'utf8');
  for (let i = 0; i < bytes.byteLength; i += BASE64_STEP) {
    at += out.write(Buffer.from(bytes.buffer, bytes.byteOffset + i, Math.min(BASE64_STEP, bytes.byteLength - i)).toString('base64'), at, 'latin1');
  }
  at += out.write('"}', at, 'latin1');
  return at === out.length ? out : out.subarray(0, at);
}
