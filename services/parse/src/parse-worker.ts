/**
 * Worker-thread entry of ParsePool: runs parseMarkdown on request. Loaded as `parse-worker.ts` under tsx
 * (workers inherit the parent's `--import tsx` through execArgv) or as `parse-worker.js` when compiled.
 * Protocol: posts {type:'ready'} once loaded; answers {type:'parse', id, text, opts} with
 * {type:'result', id, ok:true, value} or {type:'result', id, ok:false, error:{name, message, code, permanent}}.
 */
import { parentPort } from 'node:worker_threads';
import { parseMarkdown } from './parse-markdown.js';
import { PipelineError } from './shared.js';
import type { ParseOptions } from './types.js';

export interface ParseRequest {
  readonly type: 'parse';
  readonly id: number;
  readonly text: string;
  readonly opts: ParseOptions;
}

export interface SerialisedError {
  readonly name: string;
  readonly message: string;
  readonly code: string | null;
  readonly permanent: boolean;
}

const port = parentPort;
if (port) {
  port.on('message', (msg: ParseRequest) => {
    if (msg?.type !== 'parse') return;
    try {
      const value = parseMarkdown(msg.text, msg.opts);
      port.postMessage({ type: 'result', id: msg.id, ok: true, value });
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
