import { artifactKeys, ErrorCode, PermanentError, type ArtifactStore, type ExtractedArtifact, type ParsedArtifact, type StageFn, type StageResultBase } from '@ingest/shared';
import { extractEntities } from './extract.js';

export interface ExtractDeps {
  readonly artifacts: ArtifactStore;
  /** Program names that mark inline code as a command (config/ingest.yaml). */
  readonly programs: readonly string[];
}

/** Sections → entities, mentions, procedure steps and references (DESIGN §5 extract). */
export const extractStage: StageFn<ExtractDeps, StageResultBase, StageResultBase> = async ({ job }, deps) => {
  const parsed = await deps.artifacts.getJson<ParsedArtifact>(artifactKeys.parsed(job.jobId));
  if (!parsed) throw new PermanentError(ErrorCode.MissingArtifact, 'the parsed sections of this version are gone');
  const out = extractEntities(
    { documentId: job.documentId, sourceUri: job.sourceUri, tag: job.tag, sections: parsed.sections, links: [...parsed.links] },
    { programs: deps.programs },
  );
  const artifact: ExtractedArtifact = { entities: out.entities, mentions: out.mentions, steps: out.steps, references: out.references };
  await deps.artifacts.putJson(artifactKeys.extracted(job.jobId), artifact);
  return { v: 1, counts: { entities: out.entities.length, mentions: out.mentions.length } };
};
