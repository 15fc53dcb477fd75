import path from 'node:path';
import type { AppConfig } from '../config/config.types.js';
import type { Embedder } from '../ports/embedder.js';
import type { GraphStore } from '../ports/graph-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import { HashEmbedder } from '../adapters/embedder/hash-embedder.js';
import { LadybugGraphStore } from '../adapters/graph/ladybug-graph-store.js';
import { LanceVectorStore } from '../adapters/vector/lancedb-vector-store.js';

/** One factory per port, an exhaustive switch on the configured kind (research/style.md B4). */
export async function openGraphStore(config: AppConfig): Promise<GraphStore> {
  switch (config.graph.kind) {
    case 'ladybug':
      return LadybugGraphStore.open(path.join(config.dataDir, 'graph'), { bufferPoolBytes: config.graph.ladybugBufferPoolMb * 1024 * 1024 });
    case 'neo4j':
      throw new Error('CONFIG: the Neo4j graph store is not part of this build yet (issue: production stores)');
  }
}

export async function openVectorStore(config: AppConfig): Promise<VectorStore> {
  switch (config.vector.kind) {
    case 'lancedb':
      return LanceVectorStore.open(path.join(config.dataDir, 'vectors'), config.embedder.dimensions);
    case 'qdrant':
      throw new Error('CONFIG: the Qdrant vector store is not part of this build yet (issue: production stores)');
  }
}

export function createEmbedder(config: AppConfig): Embedder {
  switch (config.embedder.kind) {
    case 'hash':
      return new HashEmbedder({ dimensions: config.embedder.dimensions });
    case 'http':
      throw new Error('CONFIG: the HTTP embedder is not part of this build yet (issue: production stores)');
  }
}
