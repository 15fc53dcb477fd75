import { createStageWorker, workerOptions, type Runtime } from '@ingest/shared';
import { graphStage } from './graph.stage.js';

export function startGraphWorker(rt: Runtime) {
  const worker = createStageWorker({
    ...workerOptions(rt),
    stage: 'graph',
    fn: graphStage,
    deps: { artifacts: rt.pipeline.artifacts, graph: rt.graph, isSuperseded: (job) => rt.pipeline.isSuperseded(job) },
  });
  return { worker, close: () => worker.close() };
}
