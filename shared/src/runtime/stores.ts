import path from 'node:path';
import type { AppConfig } from '../config/config.types.js';
import type { Embedder } from '../ports/embedder.js';
import type { GraphStore } from '../ports/graph-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import { HashEmbedder } from '../adapters/embedder/hash-embedder.js';
import { HttpEmbedder } from '../adapters/embedder/http-embedder.js';

// The store adapters are imported when a store is opened, not with this module: their drivers (LanceDB,
// LadybugDB, neo4j-driver, the Qdrant client) cost ~90 MB of resident memory, and the compute-stage
// processes, which open no store, should not carry it (DESIGN §14: ≤ 256 MB per compute process).

/** A missing deployment fact: the process cannot start (the message names the variable, never a secret). */
const missing = (variable: string, what: string): Error => new Error(`CONFIG: ${what} needs ${variable}`);

/** One factory per port, an exhaustive switch on the configured kind (research/style.md B4). */
export async function openGraphStore(config: AppConfig): Promise<GraphStore> {
  switch (config.graph.kind) {
    case 'ladybug': {
      // In a worker thread of its own: LadybugDB's binding converts values on the calling thread (ladybug-thread.ts).
      const { LadybugThreadGraphStore } = await import('../adapters/graph/ladybug-thread.js');
      return LadybugThreadGraphStore.open(path.join(config.dataDir, 'graph'), { bufferPoolBytes: config.graph.ladybugBufferPoolMb * 1024 * 1024 });
    }
    case 'neo4j': {
      const { Neo4jGraphStore } = await import('../adapters/graph/neo4j-graph-store.js');
      const { neo4jUri, neo4jUser, neo4jPassword } = config.secrets;
      if (!neo4jUri) throw missing('NEO4J_URI', 'the Neo4j graph store');
      const o = config.graph.neo4j;
      return Neo4jGraphStore.open({
        uri: neo4jUri,
        ...(neo4jUser !== undefined || neo4jPassword !== undefined ? { user: neo4jUser ?? 'neo4j', password: neo4jPassword ?? '' } : {}),
        ...(o?.database ? { database: o.database } : {}),
        ...(o ? { maxBatchRows: o.maxBatchRows, deleteBatchSize: o.deleteBatchSize, maxTransactionRetryTimeMs: o.maxTransactionRetryTimeMs, maxConnectionPoolSize: o.maxConnectionPoolSize } : {}),
      });
    }
  }
}

export async function openVectorStore(config: AppConfig): Promise<VectorStore> {
  switch (config.vector.kind) {
    case 'lancedb': {
      const { LanceVectorStore } = await import('../adapters/vector/lancedb-vector-store.js');
      return LanceVectorStore.open(path.join(config.dataDir, 'vectors'), config.embedder.dimensions);
    }
    case 'qdrant': {
      const { QdrantVectorStore } = await import('../adapters/vector/qdrant-vector-store.js');
      const { qdrantUrl, qdrantApiKey } = config.secrets;
      if (!qdrantUrl) throw missing('QDRANT_URL', 'the Qdrant vector store');
      const o = config.vector.qdrant;
      return QdrantVectorStore.open({
        url: qdrantUrl,
        ...(qdrantApiKey ? { apiKey: qdrantApiKey } : {}),
        dimensions: config.embedder.dimensions,
        // The collection holds this embedder's vectors: its version names the collection.
        embeddingVersion: createEmbedder(config).version,
        ...(o ? { alias: o.alias, batchSize: o.batchSize, timeoutMs: o.timeoutMs } : {}),
      });
    }
  }
}

export function createEmbedder(config: AppConfig): Embedder {
  const e = config.embedder;
  switch (e.kind) {
    case 'hash':
      return new HashEmbedder({ dimensions: e.dimensions });
    case 'http':
      if (!e.url) throw missing('EMBEDDER_URL', 'the HTTP embedder');
      if (!e.model) throw missing('EMBEDDER_MODEL', 'the HTTP embedder');
      return new HttpEmbedder({
        url: e.url,
        model: e.model,
        dimensions: e.dimensions,
        batchSize: e.batchSize,
        ...(config.secrets.embedderApiKey ? { apiKey: config.secrets.embedderApiKey } : {}),
        ...(e.timeoutMs !== undefined ? { timeoutMs: e.timeoutMs } : {}),
        ...(e.maxRetries !== undefined ? { maxRetries: e.maxRetries } : {}),
        ...(e.requestDimensions !== undefined ? { requestDimensions: e.requestDimensions } : {}),
      });
  }
}
