export { embedStage, embeddingInput, type EmbedDeps, type EmbedResult } from './embed.stage.js';
export { EmbeddingsArtifactWriter, embeddingsArtifactBytes } from './embeddings-writer.js';
export { startEmbedWorker } from './worker.js';
