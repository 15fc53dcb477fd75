export { vectorStage, type VectorDeps, type VectorResult } from './vector.stage.js';
export { startVectorWorker } from './worker.js';
