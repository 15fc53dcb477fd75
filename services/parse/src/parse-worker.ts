/**
 * Worker-thread entry of ParsePool: runs the parser on request. Loaded as `parse-worker.ts` under tsx
 * (workers inherit the parent's `--import tsx` through execArgv) or as `parse-worker.js` when compiled.
 * Protocol: posts {type:'ready'} once loaded; answers {type:'task', id, task} with
 * {type:'result', id, ok:true, value} or {type:'result', id, ok:false, error:{name, message, code, permanent}}.
 * A task is a whole parse, or one phase of a big document's parse (ParsePool runs the phases so that two
 * threads parse the two halves of its segments at once).
 */
import { parentPort } from 'node:worker_threads';
import { artifactJson } from './artifact-json.js';
import { assembleDocument, parseMarkdown, prepareBody, renderPieces, type PreparedBody, type RenderedPiece } from './parse-markdown.js';
import { PipelineError } from './shared.js';
import { resolveParseOptions, type ParsedDocument, type ParseOptions, type SerialisedParse } from './types.js';

/** `serialise`: answer with a SerialisedParse (the artifact's JSON bytes) when the document has sections. */
export type ParseTask =
  | { readonly op: 'parse'; readonly text: string; readonly opts: ParseOptions; readonly serialise?: boolean }
  | { readonly op: 'prepare'; readonly text: string; readonly opts: ParseOptions }
  /** `body` is the range's own text; `bounds` are offsets into it. */
  | { readonly op: 'render'; readonly body: string; readonly bounds: number[]; readonly maxDepth: number }
  | { readonly op: 'assemble'; readonly prepared: PreparedBody; readonly pieces: RenderedPiece[]; readonly opts: ParseOptions; readonly serialise?: boolean };

export interface SerialisedError {
  readonly name: string;
  readonly message: string;
  readonly code: string | null;
  readonly permanent: boolean;
}

function run(task: ParseTask): unknown {
  switch (task.op) {
    case 'parse': return finish(parseMarkdown(task.text, task.opts), task.serialise);
    case 'prepare': return prepareBody(task.text, resolveParseOptions(task.opts));
    case 'render': return renderPieces(task.body, task.bounds, task.maxDepth);
    case 'assemble': return finish(assembleDocument(task.prepared, task.pieces, resolveParseOptions(task.opts)), task.serialise);
  }
}

function finish(doc: ParsedDocument, serialise: boolean | undefined): ParsedDocument | SerialisedParse {
  if (!serialise || doc.sections.length === 0) return doc;
  return { title: doc.title, sectionCount: doc.sections.length, json: artifactJson(doc) };
}

const transferOf = (value: unknown): ArrayBuffer[] =>
  value !== null && typeof value === 'object' && 'json' in value && value.json instanceof Uint8Array ? [value.json.buffer as ArrayBuffer] : [];

const port = parentPort;
if (port) {
  port.on('message', (msg: { type: 'task'; id: number; task: ParseTask }) => {
    if (msg?.type !== 'task') return;
    try {
      const value = run(msg.task);
      port.postMessage({ type: 'result', id: msg.id, ok: true, value }, transferOf(value));
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const serialised: SerialisedError = {
        name: e.name,
        message: e.message,
        code: e instanceof PipelineError ? e.code : null,
        permanent: e instanceof PipelineError ? !e.retryable : false,
      };
      port.postMessage({ type: 'result', id: msg.id, ok: false, error: serialised });
    }
  });
  port.postMessage({ type: 'ready' });
}
