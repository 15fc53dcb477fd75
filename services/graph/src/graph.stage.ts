import {
  artifactKeys, ErrorCode, PermanentError,
  type ArtifactStore, type ExtractedArtifact, type GraphStore, type ParsedArtifact, type StageFn, type StageJobData,
  type StageResultBase,
} from '@ingest/shared';

export interface GraphDeps {
  readonly artifacts: ArtifactStore;
  readonly graph: GraphStore;
  readonly isSuperseded: (job: StageJobData) => Promise<boolean>;
}

export interface Changes {
  readonly created: number;
  readonly updated: number;
  readonly deleted: number;
  readonly unchanged: number;
}

export interface GraphResult extends StageResultBase {
  readonly embeddingVersion?: string;
  readonly changes?: Changes;
}

/**
 * Writes the lexical graph of this version: document, sections, entities, and each written section's
 * outgoing edges replaced. Sections that left the document are removed by the vector stage, once the
 * new vectors exist, so retrieval never loses a section in between.
 */
export const graphStage: StageFn<GraphDeps, GraphResult, GraphResult> = async ({ job, upstream }, deps): Promise<GraphResult> => {
  if (job.op === 'delete') {
    const removed = await deps.graph.deleteDocument(job.documentId);
    return { v: 1, counts: { graph_sections_deleted: removed } };
  }
  if (upstream?.superseded || (await deps.isSuperseded(job))) return { v: 1, superseded: true, counts: {} };

  const parsed = await deps.artifacts.getJson<ParsedArtifact>(artifactKeys.parsed(job.jobId));
  const extracted = await deps.artifacts.getJson<ExtractedArtifact>(artifactKeys.extracted(job.jobId));
  if (!parsed || !extracted) throw new PermanentError(ErrorCode.MissingArtifact, 'the parsed or extracted artifacts of this version are gone');

  // What the store held before, for the report's changes. A first version has no earlier one (as embed and
  // vector assume too), so the read, on this stage's own critical path in the store process, is skipped.
  const before = job.generation > 1
    ? new Map((await deps.graph.sectionHashes(job.documentId)).map((s) => [s.id, s.contentHash]))
    : new Map<string, string>();
  const result = await deps.graph.writeVersion({
    document: {
      id: job.documentId, sourceUri: job.sourceUri, tag: job.tag, title: parsed.title, checksum: job.checksum,
      generation: job.generation, contentType: job.contentType, updatedAt: new Date().toISOString(),
    },
    sections: parsed.sections,
    ...extracted,
  });
  if (!result.applied) return { v: 1, superseded: true, counts: {} };

  const keep = new Set(parsed.sections.map((s) => s.id));
  let created = 0;
  let updated = 0;
  for (const s of parsed.sections) {
    const old = before.get(s.id);
    if (old === undefined) created++;
    else if (old !== s.contentHash) updated++;
  }
  const deleted = [...before.keys()].filter((id) => !keep.has(id)).length;
  return {
    v: 1,
    embeddingVersion: upstream?.embeddingVersion,
    changes: { created, updated, deleted, unchanged: parsed.sections.length - created - updated },
    counts: { sections: parsed.sections.length, entities: extracted.entities.length, mentions: extracted.mentions.length, graph_sections_written: result.sectionsWritten },
  };
};
