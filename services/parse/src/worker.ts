import { createStageWorker, workerOptions, type Runtime } from '@ingest/shared';
import { ParsePool } from './parse-pool.js';
import { parseStage } from './parse.stage.js';

/** The parse worker: parsing itself runs in a pool of worker threads with time and memory limits. */
export function startParseWorker(rt: Runtime) {
  const p = rt.config.parse;
  const pool = new ParsePool({ size: p.workerThreads, timeoutMs: p.timeoutMs, maxOldGenerationSizeMb: p.maxOldGenerationSizeMb });
  const worker = createStageWorker({
    ...workerOptions(rt),
    stage: 'parse',
    fn: parseStage,
    deps: {
      artifacts: rt.pipeline.artifacts,
      parse: (text, o, signal) => pool.parse(text, { ...o, maxSectionTokens: p.maxSectionTokens, maxDepth: p.maxDepth, ...(p.maxSections ? { maxSections: p.maxSections } : {}), segmentBytes: p.segmentBytes }, { signal }),
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
