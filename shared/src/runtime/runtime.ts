import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/config.types.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { createRedis } from '../queue/redis.js';
import { Pipeline, PIPELINE_CODE_VERSION } from '../admission/pipeline.js';
import type { Embedder } from '../ports/embedder.js';
import type { GraphStore } from '../ports/graph-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import { hybridQuery, type QueryAnswer } from '../retrieval/hybrid.js';
import { createEmbedder, openGraphStore, openVectorStore } from './stores.js';
import { HttpEmbedder } from '../adapters/embedder/http-embedder.js';
import { redisPauseGate } from '../adapters/embedder/redis-pause-gate.js';
import type { StageWorkerOptions } from '../queue/stage-worker.js';
import { GRAPH_WRITE_OPS, IngestMetrics, VECTOR_WRITE_OPS } from '../metrics/metrics.js';
import { publishStoreLatency } from '../backpressure/latency.js';
import { withTestStoreFaults } from './test-store-faults.js';

/** Everything a service's composition root hands to its stage worker. */
export interface Runtime {
  readonly config: AppConfig;
  readonly logger: Logger;
  /** Blocking connection for workers (waits for Redis forever). */
  readonly workerRedis: Redis;
  /** Fail-fast connection for admission, state and API reads. */
  readonly redis: Redis;
  readonly pipeline: Pipeline;
  readonly embedder: Embedder;
  readonly graph: GraphStore;
  readonly vectors: VectorStore;
  /** This process's Prometheus registry (DESIGN §9); the dashboard serves it on /metrics. */
  readonly metrics: IngestMetrics;
  query(q: string, options: { tag?: string; limit: number; legs?: { vector: boolean; lexical: boolean } }): Promise<QueryAnswer>;
  close(): Promise<void>;
}

export const pipelineVersionOf = (embedder: Embedder): string => `${PIPELINE_CODE_VERSION}+${embedder.version}`;

/**
 * Opens connections and stores for one process. In the embedded default this process is the only one
 * that opens LadybugDB and LanceDB (DESIGN §3).
 */
export interface RuntimeOptions {
  /** Stores opened elsewhere (a compute-stage process reads through the API of the store process). */
  readonly stores?: { readonly graph: GraphStore; readonly vectors: VectorStore };
}

export async function openRuntime(config: AppConfig, service: string, logger = createLogger({ service, ...config.logging }), options: RuntimeOptions = {}): Promise<Runtime> {
  if (!config.redis.url) throw new Error('CONFIG: no Redis URL (set REDIS_URL or run `ingestctl up`, which spawns one)');
  let lastWarned = 0;
  const onRedisError = (error: Error) => {
    // Once per 10 s: a Redis outage would otherwise log every reconnect attempt of every connection.
    if (Date.now() - lastWarned > 10_000) {
      lastWarned = Date.now();
      logger.warn('redis connection error (reconnecting)', { err: error.message });
    }
  };
  const workerRedis = createRedis(config.redis.url, 'worker', `${service}-worker`, onRedisError);
  const redis = createRedis(config.redis.url, 'producer', service, onRedisError);
  const embedder = createEmbedder(config);
  // A 429's Retry-After pauses every process that calls this embedder, not only the refused one, and the
  // configured request rate is one budget for all of them.
  if (embedder instanceof HttpEmbedder) {
    embedder.sharePauses(redisPauseGate(redis, config.embedder.url!, config.embedder.model!, config.embedder.maxRequestsPerSecond));
  }
  const metrics = new IngestMetrics({ onSampleError: (e) => logger.warn('queue metrics sample failed', { err: String(e) }) });
  const [graph, vectors] = options.stores ? [options.stores.graph, options.stores.vectors] : await Promise.all([
    // withTestStoreFaults is the identity unless INGEST_TEST_STORE_FAULTS is set (chaos suite only).
    openGraphStore(config).then((g) => metrics.timeStoreWrites(publishStoreLatency(withTestStoreFaults(g, 'graph', GRAPH_WRITE_OPS), 'graph', GRAPH_WRITE_OPS, redis, config.backpressure), config.graph.kind, GRAPH_WRITE_OPS)),
    openVectorStore(config).then((v) => metrics.timeStoreWrites(publishStoreLatency(withTestStoreFaults(v, 'vector', VECTOR_WRITE_OPS), 'vector', VECTOR_WRITE_OPS, redis, config.backpressure), config.vector.kind, VECTOR_WRITE_OPS)),
  ]);
  const pipeline = new Pipeline(config, redis, logger, pipelineVersionOf(embedder));
  pipeline.onOutcome = (outcome) => metrics.documentOutcome(outcome);
  return {
    config, logger, workerRedis, redis, pipeline, embedder, graph, vectors, metrics,
    query: (q, o) => hybridQuery({ vectors, graph, embedder }, q, { ...config.retrieval, ...o }),
    async close() {
      await metrics.close();
      await pipeline.close();
      await Promise.allSettled([graph.close(), vectors.close(), embedder.close()]);
      workerRedis.disconnect();
      redis.disconnect();
    },
  };
}

/** The options every stage worker shares: connection, settings, state, and where a final failure goes. */
export function workerOptions(rt: Runtime): Pick<StageWorkerOptions<unknown, unknown, never>, 'connection' | 'config' | 'logger' | 'state' | 'onFinalFailure' | 'control' | 'onJobFinished'> {
  return {
    connection: rt.workerRedis,
    config: rt.config,
    logger: rt.logger,
    state: rt.pipeline.state,
    onJobFinished: (stage, ms, outcome, detail) => rt.metrics.stageFinished(stage, ms, outcome, detail),
    control: rt.pipeline.control,
    onFinalFailure: (data, error) => rt.pipeline.finishChain(data, error.code === 'CANCELLED' ? 'CANCELLED' : 'FAILED', { error }),
  };
}
