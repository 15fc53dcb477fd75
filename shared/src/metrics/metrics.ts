import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { quietOnConnectionErrors } from '../queue/redis.js';
import { aroundMethods } from '../util/around-methods.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GraphStore } from '../ports/graph-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import type { StageResultBase } from '../pipeline/stage.types.js';
import { STAGES, type JobStatus, type StageName } from '../queue/topology.js';

/**
 * Prometheus metrics of DESIGN §9 on one prom-client registry per process. Labels are low-cardinality
 * only: queue/stage names, BullMQ states, outcomes, store kinds and port method names — never a file
 * name, source URI or document id.
 */

/** The BullMQ states exported as `ingest_queue_depth{state}` (BullMQ's own names). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'waiting-children', 'prioritized', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Document-version outcomes counted by `ingest_documents_total{outcome}`. */
export const DOCUMENT_OUTCOMES = ['DONE', 'FAILED', 'SUPERSEDED', 'DELETED', 'CANCELLED', 'SKIPPED', 'REJECTED'] as const satisfies readonly JobStatus[];

/** Port methods that write, timed as `ingest_store_write_seconds{store,op}`. */
export const GRAPH_WRITE_OPS = ['writeVersion', 'removeSectionsExcept', 'deleteDocument', 'markCompleted', 'removeOrphanEntities'] as const satisfies readonly (keyof GraphStore)[];
export const VECTOR_WRITE_OPS = ['upsert', 'deleteDocumentExcept', 'deleteDocument'] as const satisfies readonly (keyof VectorStore)[];

/** What the background sampler reads for one queue. */
export interface QueueSample {
  readonly queue: string;
  readonly counts: Partial<Record<QueueState, number>>;
  /** Seconds the job next in line has been ready to run (0 when nothing waits). */
  readonly oldestWaitingAgeSeconds: number;
}
export interface QueueReader {
  read(): Promise<QueueSample[]>;
  close?(): Promise<void>;
}

/** What onJobFinished reports besides stage, wall time and outcome. */
export interface JobFinishedDetail {
  readonly result?: StageResultBase;
  /** BullMQ job timestamp: when the chain's flow was added (admission, or the start of a parked version). */
  readonly createdAt?: number;
}

export interface MetricsOptions {
  /** Node.js process metrics (process_*, nodejs_*); on by default. */
  readonly defaults?: boolean;
  readonly onSampleError?: (error: unknown) => void;
}

const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const storeBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class IngestMetrics {
  readonly registry = new Registry();
  readonly queueDepth: Gauge<'queue' | 'state'>;
  readonly queueOldestAge: Gauge<'queue'>;
  readonly stageDuration: Histogram<'stage'>;
  readonly stageJobs: Counter<'stage' | 'outcome'>;
  readonly documents: Counter<'outcome'>;
  readonly driftPct: Gauge;
  readonly readyForQueries: Gauge;
  readonly freshnessLag: Gauge;
  readonly storeWrite: Histogram<'store' | 'op'>;
  readonly watchers: Gauge;
  /** Per-source events (`source_kind` fs|s3|http; `event` admitted|unchanged|deleted|rejected|error|rescan). */
  readonly watcherEvents: Counter<'source_kind' | 'event'>;
  /** Set by the back-pressure controller: 1 while it holds a pause on the queue. */
  readonly backpressurePaused: Gauge<'queue'>;
  /** Set by the back-pressure controller: Neo4j load (active transactions ÷ capacity). */
  readonly neo4jCpu: Gauge;
  /** Set by the back-pressure controller: Qdrant (or vector store) call latency p95. */
  readonly qdrantP95Ms: Gauge;

  private sampler: { stop: () => Promise<void> } | null = null;
  private server: Server | null = null;
  private readonly onSampleError: (error: unknown) => void;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.onSampleError = options.onSampleError ?? (() => undefined);
    this.queueDepth = new Gauge({ name: 'ingest_queue_depth', help: 'Jobs per stage queue and BullMQ state (sampled in the background).', labelNames: ['queue', 'state'], registers });
    this.queueOldestAge = new Gauge({ name: 'ingest_queue_oldest_age_seconds', help: 'Seconds the job next in line of a stage queue has been ready to run (sampled; 0 when none waits).', labelNames: ['queue'], registers });
    this.stageDuration = new Histogram({ name: 'ingest_stage_duration_seconds', help: 'Wall time of completed stage jobs.', labelNames: ['stage'], buckets: secondsBuckets, registers });
    this.stageJobs = new Counter({ name: 'ingest_stage_jobs_total', help: 'Stage job attempts by outcome (completed, failed).', labelNames: ['stage', 'outcome'], registers });
    this.documents = new Counter({ name: 'ingest_documents_total', help: 'Document versions by final outcome.', labelNames: ['outcome'], registers });
    this.driftPct = new Gauge({ name: 'ingest_drift_pct', help: 'Graph/vector drift (percent) found by the most recent verification.', registers });
    this.readyForQueries = new Gauge({ name: 'ingest_ready_for_queries', help: '1 when the most recently verified document version was ready for queries, else 0.', registers });
    this.freshnessLag = new Gauge({ name: 'ingest_freshness_lag_seconds', help: 'Seconds from admission to DONE (searchable) of the most recently finished document version.', registers });
    this.storeWrite = new Histogram({ name: 'ingest_store_write_seconds', help: 'Latency of store write calls.', labelNames: ['store', 'op'], buckets: storeBuckets, registers });
    this.watchers = new Gauge({ name: 'ingest_watchers_count', help: 'Source watchers running in this process.', registers });
    this.watcherEvents = new Counter({ name: 'ingest_watcher_events_total', help: 'Source watcher events by source kind (fs, s3, http) and event (admitted, unchanged, deleted, rejected, error, rescan).', labelNames: ['source_kind', 'event'], registers });
    this.backpressurePaused = new Gauge({ name: 'ingest_backpressure_paused', help: '1 while the back-pressure controller holds a pause on the queue.', labelNames: ['queue'], registers });
    this.neo4jCpu = new Gauge({ name: 'ingest_neo4j_cpu', help: 'Graph store load as sampled by the back-pressure controller (0..1).', registers });
    this.qdrantP95Ms = new Gauge({ name: 'ingest_qdrant_p95_ms', help: 'Vector store call latency p95 in ms as sampled by the back-pressure controller.', registers });

    // Every series exists from the start, so rate() and absence-based alerts work before the first job.
    for (const stage of STAGES) {
      for (const outcome of ['completed', 'failed']) this.stageJobs.inc({ stage, outcome }, 0);
      this.backpressurePaused.set({ queue: stage }, 0);
    }
    for (const outcome of DOCUMENT_OUTCOMES) this.documents.inc({ outcome }, 0);
    for (const source_kind of ['fs', 's3', 'http']) {
      for (const event of ['admitted', 'unchanged', 'deleted', 'rejected', 'error', 'rescan']) this.watcherEvents.inc({ source_kind, event }, 0);
    }
    if (options.defaults ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The stage-worker hook (`onJobFinished`): durations, outcomes, and the verify stage's verdict. */
  stageFinished(stage: StageName, ms: number, outcome: 'completed' | 'failed', detail: JobFinishedDetail = {}): void {
    this.stageJobs.inc({ stage, outcome });
    if (outcome !== 'completed') return;
    this.stageDuration.observe({ stage }, ms / 1000);
    if (stage !== 'verify' || !detail.result) return;
    const r = detail.result as Partial<{ status: string; drift_pct: number; ready_for_queries: boolean }>;
    if (typeof r.drift_pct === 'number') this.driftPct.set(r.drift_pct);
    if (r.status === 'DONE') {
      this.readyForQueries.set(r.ready_for_queries === true ? 1 : 0);
      if (detail.createdAt) this.freshnessLag.set(Math.max(0, (Date.now() - detail.createdAt) / 1000));
    }
  }

  /** The Pipeline hook: a document version reached an end (or was refused or skipped at admission). */
  documentOutcome(outcome: JobStatus): void {
    if ((DOCUMENT_OUTCOMES as readonly string[]).includes(outcome)) this.documents.inc({ outcome });
  }

  /** Wraps a store so the named write methods are timed; everything else passes through untouched. */
  timeStoreWrites<T extends object>(target: T, store: string, ops: readonly (keyof T & string)[]): T {
    const histogram = this.storeWrite;
    return aroundMethods(target, ops, async (op, call) => {
      const end = histogram.startTimer({ store, op });
      try {
        return await call();
      } finally {
        end();
      }
    });
  }

  /**
   * Samples queue depths and ages every `intervalMs` in the background; a scrape only serialises the last
   * sample, so it never waits on Redis. One sample at a time: a slow Redis delays the next one, nothing
   * piles up.
   */
  startQueueSampler(reader: QueueReader, intervalMs: number): void {
    if (this.sampler) throw new Error('INTERNAL: the queue sampler is already running');
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let inFlight: Promise<void> = Promise.resolve();
    const tick = () => {
      inFlight = reader.read()
        .then((samples) => this.applySamples(samples))
        .catch((error: unknown) => this.onSampleError(error))
        .finally(() => {
          if (!stopped) timer = setTimeout(tick, intervalMs).unref();
        });
    };
    tick();
    this.sampler = {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await inFlight;
        await reader.close?.();
      },
    };
  }

  applySamples(samples: readonly QueueSample[]): void {
    for (const s of samples) {
      for (const state of QUEUE_STATES) this.queueDepth.set({ queue: s.queue, state }, s.counts[state] ?? 0);
      this.queueOldestAge.set({ queue: s.queue }, s.oldestWaitingAgeSeconds);
    }
  }

  /** The `/metrics` body in Prometheus text format. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Serves this registry on its own port for processes without the dashboard's HTTP server — the stage
   * services of the distributed deployment, scraped by prometheus.yml's `ingest-services` job. Enabled by
   * INGEST_METRICS_PORT (INGEST_METRICS_HOST, default 0.0.0.0: it is meant for a container network; the
   * body carries no document data). Returns the bound port, or null when not enabled.
   */
  async serveFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
    if (!env.INGEST_METRICS_PORT) return null;
    const port = Number(env.INGEST_METRICS_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`CONFIG: INGEST_METRICS_PORT must be a port number, not ${JSON.stringify(env.INGEST_METRICS_PORT)}`);
    if (this.server) throw new Error('INTERNAL: /metrics is already served');
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      this.scrape().then(({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType }).end(body),
        () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n'));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, env.INGEST_METRICS_HOST ?? '0.0.0.0', () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.sampler;
    this.sampler = null;
    await s?.stop();
    const server = this.server;
    this.server = null;
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    }
  }
}

/**
 * Reads the stage queues through BullMQ: `getJobCounts` per queue and the age of the job next in line.
 * A job of a later stage becomes ready when its child finishes, not when the flow was added, so its age
 * counts from the child's `finishedOn` (or from a retry's last attempt).
 */
export function bullmqQueueReader(connection: Redis, prefix: string, names: readonly string[] = STAGES): Required<QueueReader> {
  const queues = names.map((name) => quietOnConnectionErrors(new Queue(name, { connection, prefix })));
  const readyAt = async (q: Queue): Promise<number | null> => {
    const [job] = await q.getJobs(['waiting'], 0, 0, true);
    if (!job) return null;
    let at = Math.max(job.timestamp + (job.opts.delay ?? 0), job.processedOn ?? 0);
    const deps = await job.getDependencies({ processed: { count: 10 } });
    for (const childKey of Object.keys(deps.processed ?? {})) {
      const finished = Number(await connection.hget(childKey, 'finishedOn'));
      if (Number.isFinite(finished)) at = Math.max(at, finished);
    }
    return at;
  };
  return {
    async read() {
      const now = Date.now();
      return Promise.all(queues.map(async (q) => {
        const [counts, at] = await Promise.all([q.getJobCounts(...QUEUE_STATES), readyAt(q)]);
        return { queue: q.name, counts: counts as Partial<Record<QueueState, number>>, oldestWaitingAgeSeconds: at === null ? 0 : Math.max(0, (now - at) / 1000) };
      }));
    },
    async close() {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
