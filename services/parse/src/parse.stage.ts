import { artifactKeys, ErrorCode, PermanentError, type ArtifactStore, type ParsedArtifact, type StageFn, type StageResultBase } from '@ingest/shared';

export interface ParseDeps {
  readonly artifacts: ArtifactStore;
  /** Runs the parser off the event loop (worker threads with time and memory limits). */
  readonly parse: (text: string, options: { documentId: string; sourceUri: string }) => Promise<ParsedArtifact>;
}

export interface ParseResult extends StageResultBase {
  readonly title: string;
}

/** Source text → sections (DESIGN §5 parse); the sections go to the artifact store, a pointer to the queue. */
export const parseStage: StageFn<ParseDeps, never, ParseResult> = async ({ job }, deps) => {
  const source = await deps.artifacts.get(artifactKeys.source(job.jobId));
  if (!source) throw new PermanentError(ErrorCode.MissingArtifact, 'the source bytes of this version are gone');
  const parsed = await deps.parse(Buffer.from(source).toString('utf8'), { documentId: job.documentId, sourceUri: job.sourceUri });
  const artifact: ParsedArtifact = { title: parsed.title, description: parsed.description, tags: parsed.tags, sections: parsed.sections, links: parsed.links };
  await deps.artifacts.putJson(artifactKeys.parsed(job.jobId), artifact);
  return { v: 1, title: parsed.title.slice(0, 200), counts: { sections: parsed.sections.length } };
};
