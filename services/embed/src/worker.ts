import { createStageWorker, workerOptions, type Runtime } from '@ingest/shared';
import { embedStage } from './embed.stage.js';

export function startEmbedWorker(rt: Runtime) {
  const worker = createStageWorker({
    ...workerOptions(rt),
    stage: 'embed',
    fn: embedStage,
    deps: { artifacts: rt.pipeline.artifacts, embedder: rt.embedder, vectors: rt.vectors, batchSize: rt.config.embedder.batchSize },
  });
  return { worker, close: () => worker.close() };
}
