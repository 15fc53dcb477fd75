import { createStageWorker, workerOptions, type Runtime } from '@ingest/shared';
import { vectorStage } from './vector.stage.js';

export function startVectorWorker(rt: Runtime) {
  const worker = createStageWorker({
    ...workerOptions(rt),
    stage: 'vector',
    fn: vectorStage,
    deps: { artifacts: rt.pipeline.artifacts, vectors: rt.vectors, graph: rt.graph, isSuperseded: (job) => rt.pipeline.isSuperseded(job) },
  });
  return { worker, close: () => worker.close() };
}
