export { embedStage, embeddingInput, embeddingsArtifactBytes, type EmbedDeps, type EmbedResult } from './embed.stage.js';
export { startEmbedWorker } from './worker.js';
