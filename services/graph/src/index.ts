export { graphStage, type GraphDeps, type GraphResult, type Changes } from './graph.stage.js';
export { startGraphWorker } from './worker.js';
