import {
  artifactKeys, ErrorCode, PermanentError, sectionId, sha256Hex,
  type ArtifactStore, type ParsedArtifact, type SectionRecord, type StageFn, type StageResultBase,
} from '@ingest/shared';
import type { SerialisedParse } from './types.js';

export interface ParseDeps {
  readonly artifacts: ArtifactStore;
  /**
   * Runs the parser off the event loop (worker threads with time and memory limits). It may answer with
   * the artifact already serialised (ParsePool.parseSerialised), which is then stored as it is.
   */
  readonly parse: (text: string, options: { documentId: string; sourceUri: string }, signal: AbortSignal) => Promise<ParsedArtifact | SerialisedParse>;
}

export interface ParseResult extends StageResultBase {
  readonly title: string;
}

/** Source text → sections (DESIGN §5 parse); the sections go to the artifact store, a pointer to the queue. */
export const parseStage: StageFn<ParseDeps, never, ParseResult> = async ({ job }, deps, ctx) => {
  const source = await deps.artifacts.get(artifactKeys.source(job.jobId));
  if (!source) throw new PermanentError(ErrorCode.MissingArtifact, 'the source bytes of this version are gone');
  // A view, not Buffer.from(source): that copies the 3 MB a big document has before decoding it.
  const text = Buffer.from(source.buffer, source.byteOffset, source.byteLength).toString('utf8');
  const parsed = await deps.parse(text, { documentId: job.documentId, sourceUri: job.sourceUri }, ctx.signal);
  if ('json' in parsed) {
    await deps.artifacts.put(artifactKeys.parsed(job.jobId), parsed.json);
    return { v: 1, title: parsed.title.slice(0, 200), counts: { sections: parsed.sectionCount } };
  }
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
