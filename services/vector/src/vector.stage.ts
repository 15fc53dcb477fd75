import {
  artifactKeys, ErrorCode, PermanentError, unpackVectors,
  type ArtifactStore, type EmbeddingsArtifact, type GraphStore, type ParsedArtifact, type StageFn, type StageJobData,
  type StageResultBase, type VectorPoint, type VectorStore,
} from '@ingest/shared';

export interface VectorDeps {
  readonly artifacts: ArtifactStore;
  readonly vectors: VectorStore;
  readonly graph: Pick<GraphStore, 'removeSectionsExcept'>;
  readonly isSuperseded: (job: StageJobData) => Promise<boolean>;
}

export interface VectorResult extends StageResultBase {
  readonly embeddingVersion?: string;
  readonly changes?: { created: number; updated: number; deleted: number; unchanged: number };
}

/**
 * Upserts the new vectors, then removes — in both stores — the document's sections and points that are
 * not in this version (DESIGN §4). The graph is one hop ahead of the vectors only between the two stages.
 */
export const vectorStage: StageFn<VectorDeps, VectorResult, VectorResult> = async ({ job, upstream }, deps): Promise<VectorResult> => {
  if (job.op === 'delete') {
    const removed = await deps.vectors.deleteDocument(job.documentId);
    return { v: 1, counts: { vectors_deleted: removed } };
  }
  if (upstream?.superseded || (await deps.isSuperseded(job))) return { v: 1, superseded: true, counts: {} };

  const parsed = await deps.artifacts.getJson<ParsedArtifact>(artifactKeys.parsed(job.jobId));
  const embedded = await deps.artifacts.getJson<EmbeddingsArtifact>(artifactKeys.embeddings(job.jobId));
  if (!parsed || !embedded) throw new PermanentError(ErrorCode.MissingArtifact, 'the parsed sections or embeddings of this version are gone');

  const vectors = unpackVectors(embedded.data, embedded.ids.length, embedded.dimensions);
  const byId = new Map(parsed.sections.map((s) => [s.id, s]));
  const points: VectorPoint[] = embedded.ids.map((id, i) => {
    const s = byId.get(id);
    if (!s) throw new PermanentError(ErrorCode.MissingArtifact, `embedding for unknown section ${id}`);
    return {
      id, documentId: job.documentId, sourceUri: job.sourceUri, tag: job.tag, title: s.title, headingPath: s.headingPath,
      text: s.text, contentHash: s.contentHash, generation: job.generation, embeddingVersion: embedded.embeddingVersion, vector: vectors[i]!,
    };
  });
  const written = points.length > 0 ? await deps.vectors.upsert(points) : 0;
  const keep = parsed.sections.map((s) => s.id);
  const vectorsRemoved = await deps.vectors.deleteDocumentExcept(job.documentId, keep);
  const sectionsRemoved = await deps.graph.removeSectionsExcept(job.documentId, keep);
  return {
    v: 1,
    embeddingVersion: upstream?.embeddingVersion ?? embedded.embeddingVersion,
    changes: upstream?.changes,
    counts: { vectors_written: written, vectors_removed: vectorsRemoved, graph_sections_removed: sectionsRemoved },
  };
};
