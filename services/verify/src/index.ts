export { verifyStage, type VerifyDeps, type VerifyResult, type VerifyUpstream } from './verify.stage.js';
export { startVerifyWorker } from './worker.js';
