export { verifyStage, runSampleQuery, type VerifyDeps, type VerifyResult, type VerifyUpstream } from './verify.stage.js';
