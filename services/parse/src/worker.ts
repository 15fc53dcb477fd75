import { createStageWorker, workerOptions, type Runtime } from '@ingest/shared';
import { ParsePool } from './parse-pool.js';
import { parseStage } from './parse.stage.js';

/**
 * The parse worker: parsing itself runs in a pool of worker threads with time and memory limits.
 * One thread stays warm; a second starts while two jobs want one (workerThreads) and stops when idle. A
 * big document takes one thread, not two halves at once: issue 7 holds a compute process to 256 MB, and
 * for the 3 MB bench document the halves cost ~50 MB more at the peak (290 vs 240 MB) while, on the two
 * shared cores of the bench, they did not parse it faster (6.5-7.4 s vs 5.2-5.9 s, same sitting).
 */
export function startParseWorker(rt: Runtime) {
  const p = rt.config.parse;
  const pool = new ParsePool({
    size: p.workerThreads, warmThreads: 1, splitBigDocuments: false, timeoutMs: p.timeoutMs, maxOldGenerationSizeMb: p.maxOldGenerationSizeMb,
  });
  const worker = createStageWorker({
    ...workerOptions(rt),
    stage: 'parse',
    fn: parseStage,
    deps: {
      artifacts: rt.pipeline.artifacts,
      parse: (text, o, signal) => pool.parseSerialised(text, { ...o, maxSectionTokens: p.maxSectionTokens, maxDepth: p.maxDepth, ...(p.maxSections ? { maxSections: p.maxSections } : {}), segmentBytes: p.segmentBytes }, { signal }),
    },
  });
  return {
    worker,
    close: async () => {
      await worker.close();
      await pool.close();
    },
  };
}
