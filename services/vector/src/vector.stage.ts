import {
  artifactKeys, decodeVectors, ErrorCode, PermanentError,
  type ArtifactStore, type EmbeddingsArtifact, type GraphStore, type ParsedArtifact, type StageFn, type StageJobData,
  type StageResultBase, type VectorPoint, type VectorStore,
} from '@ingest/shared';

/** Points per upsert call (one LanceDB commit, a few Qdrant batches). */
const UPSERT_SLICE = 1000;

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

  const floats = decodeVectors(embedded.data);
  const d = embedded.dimensions;
  const byId = new Map(parsed.sections.map((s) => [s.id, s]));
  for (const id of embedded.ids) {
    if (!byId.has(id)) throw new PermanentError(ErrorCode.MissingArtifact, `embedding for unknown section ${id}`);
  }
  const pointAt = (i: number): VectorPoint => {
    const s = byId.get(embedded.ids[i]!)!;
    return {
      id: s.id, documentId: job.documentId, sourceUri: job.sourceUri, tag: job.tag, title: s.title, headingPath: s.headingPath,
      text: s.text, contentHash: s.contentHash, generation: job.generation, embeddingVersion: embedded.embeddingVersion,
      vector: floats.subarray(i * d, (i + 1) * d), // a view: the store copies it into its own batch
    };
  };
  // A slice of points at a time: the rows built for a big document's points are never all alive at once
  // in the process that holds the stores. Upserts are idempotent per id, so a retry after a failure
  // between slices converges.
  let written = 0;
  for (let start = 0; start < embedded.ids.length; start += UPSERT_SLICE) {
    const end = Math.min(embedded.ids.length, start + UPSERT_SLICE);
    written += await deps.vectors.upsert(Array.from({ length: end - start }, (_, k) => pointAt(start + k)));
  }
  // A first version has nothing to remove: no earlier generation of the document was ever admitted, and
  // whatever an earlier attempt of this job wrote carries this version's ids. The two reads-and-deletes
  // it skips run in the process that holds the stores, for every new document.
  let vectorsRemoved = 0;
  let sectionsRemoved = 0;
  if (job.generation > 1) {
    const keep = parsed.sections.map((s) => s.id);
    vectorsRemoved = await deps.vectors.deleteDocumentExcept(job.documentId, keep);
    sectionsRemoved = await deps.graph.removeSectionsExcept(job.documentId, keep);
  }
  return {
    v: 1,
    embeddingVersion: upstream?.embeddingVersion ?? embedded.embeddingVersion,
    changes: upstream?.changes,
    counts: { vectors_written: written, vectors_removed: vectorsRemoved, graph_sections_removed: sectionsRemoved },
  };
};
