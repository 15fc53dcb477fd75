import { createStageWorker, workerOptions, type Runtime } from '@ingest/shared';
import { extractStage } from './extract.stage.js';

export function startExtractWorker(rt: Runtime) {
  const worker = createStageWorker({
    ...workerOptions(rt),
    stage: 'extract',
    fn: extractStage,
    deps: { artifacts: rt.pipeline.artifacts, programs: rt.config.ingest.programs },
  });
  return { worker, close: () => worker.close() };
}
