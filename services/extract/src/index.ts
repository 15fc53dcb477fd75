export { extractStage, type ExtractDeps } from './extract.stage.js';
export { startExtractWorker } from './worker.js';
export { extractEntities, MAX_ENTITY_NAME, MAX_STEP_NAME } from './extract.js';
export type { ExtractInput, ExtractOptions, ExtractResult } from './extract.js';
export { resolveLink, type LinkTarget } from './references.js';
