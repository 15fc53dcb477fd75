import {
  artifactKeys, ErrorCode, PermanentError, sectionId, sha256Hex,
  type ArtifactStore, type ParsedArtifact, type SectionRecord, type StageFn, type StageResultBase,
} from '@ingest/shared';

export interface ParseDeps {
  readonly artifacts: ArtifactStore;
  /** Runs the parser off the event loop (worker threads with time and memory limits). */
  readonly parse: (text: string, options: { documentId: string; sourceUri: string }, signal: AbortSignal) => Promise<ParsedArtifact>;
}

export interface ParseResult extends StageResultBase {
  readonly title: string;
}

/** Source text → sections (DESIGN §5 parse); the sections go to the artifact store, a pointer to the queue. */
export const parseStage: StageFn<ParseDeps, never, ParseResult> = async ({ job }, deps, ctx) => {
  const source = await deps.artifacts.get(artifactKeys.source(job.jobId));
  if (!source) throw new PermanentError(ErrorCode.MissingArtifact, 'the source bytes of this version are gone');
  const parsed = await deps.parse(Buffer.from(source).toString('utf8'), { documentId: job.documentId, sourceUri: job.sourceUri }, ctx.signal);
  const sections = parsed.sections.length > 0 ? parsed.sections : frontMatterSection(job.documentId, parsed.title, parsed.description);
  const artifact: ParsedArtifact = { title: parsed.title, description: parsed.description, tags: parsed.tags, sections, links: parsed.links };
  await deps.artifacts.putJson(artifactKeys.parsed(job.jobId), artifact);
  return { v: 1, title: parsed.title.slice(0, 200), counts: { sections: sections.length } };
};

/**
 * Index pages of doc generators (Hugo `_index.md`) often carry only front matter. Their title and
 * description are what a reader searches for, so they become the document's one section instead of
 * leaving a document nobody can find.
 */
function frontMatterSection(documentId: string, title: string, description: string | null): SectionRecord[] {
  const text = [title, description ?? ''].filter((t) => t.trim() !== '').join('\n\n');
  if (text === '') return [];
  return [{
    id: sectionId(documentId, [], 0), documentId, ordinal: 0, level: 0, title, headingPath: [], anchor: '', text,
    tokenCount: text.split(/\s+/).filter(Boolean).length, contentHash: sha256Hex(text), parentId: null,
  }];
}
