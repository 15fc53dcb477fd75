import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import {
  artifactKeys, createLogger, documentId, FINAL_STATUSES, hybridQuery, jobIdFor, keys, loadConfig, sourceUri, STAGES, TieredArtifactStore,
  type AppConfig, type StageContext, type StageJobData,
} from '@ingest/shared';
import { ParsePool, parseStage } from '@ingest/parse';
import { extractStage } from '@ingest/extract';
import { embedStage } from '@ingest/embed';
import { graphStage } from '@ingest/graph';
import { vectorStage } from '@ingest/vector';
import { verifyStage } from '@ingest/verify';
import { LadybugThreadGraphStore } from '../../shared/src/adapters/graph/ladybug-thread.js';
import { LanceVectorStore } from '../../shared/src/adapters/vector/lancedb-vector-store.js';
import { HashEmbedder } from '../../shared/src/adapters/embedder/hash-embedder.js';
import { startEmbeddedSystem } from '../../services/cli/src/embedded.js';
import { startStageChildren } from '../../services/cli/src/stage-children.js';
import type { BenchDoc } from './corpus.js';

const silent = createLogger({ service: 'bench', level: 'silent', format: 'json' });
const ctx: StageContext = { logger: silent, signal: new AbortController().signal, attempt: 1, progress: async () => undefined };

export interface RunResult {
  readonly seconds: number;
  readonly docs: number;
  readonly done: number;
  readonly redisCommands: number;
  readonly latenciesMs: number[];
}

/** Mean ms per stage: waiting in its queue (from the stage before it ending, or admission) and running. */
export interface StageBreakdown {
  readonly wait_ms: Record<string, number>;
  readonly run_ms: Record<string, number>;
}

/**
 * Where a document's drop-to-searchable time went, from each job's state hash (`seen_<stage>`: the stage's
 * start, `ms_<stage>`: its run): for all documents, and for the slowest tenth (what sets p95).
 */
async function stageBreakdown(redis: Redis, submitted: ReadonlyMap<string, number>): Promise<{ all: StageBreakdown; slowest_tenth: StageBreakdown }> {
  const rows: { latency: number; wait: number[]; run: number[] }[] = [];
  for (const [jobId, at] of submitted) {
    const h = await redis.hgetall(keys.state(jobId));
    if (h.status !== 'DONE') continue;
    const wait: number[] = [];
    const run: number[] = [];
    let previousEnd = at;
    for (const stage of STAGES) {
      const seen = Number(h[`seen_${stage}`]);
      const ms = Number(h[`ms_${stage}`] ?? 0);
      wait.push(seen - previousEnd);
      run.push(ms);
      previousEnd = seen + ms;
    }
    rows.push({ latency: Date.parse(h.updated_at!) - at, wait, run });
  }
  rows.sort((a, b) => a.latency - b.latency);
  const mean = (list: typeof rows, pick: (r: (typeof rows)[number]) => number[]): Record<string, number> =>
    Object.fromEntries(STAGES.map((stage, i) => [stage, list.length === 0 ? 0 : Math.round(list.reduce((a, r) => a + pick(r)[i]!, 0) / list.length)]));
  const of = (list: typeof rows): StageBreakdown => ({ wait_ms: mean(list, (r) => r.wait), run_ms: mean(list, (r) => r.run) });
  return { all: of(rows), slowest_tenth: of(rows.slice(Math.floor(rows.length * 0.9))) };
}

export function benchConfig(dir: string, redisUrl: string): AppConfig {
  return loadConfig({ env: {}, overrides: {
    dataDir: path.join(dir, 'data'), reportsDir: path.join(dir, 'reports'), redis: { url: redisUrl },
    dashboard: { host: '127.0.0.1', port: 0 }, watch: { dirs: [], tag: 'bench', stableMs: 0 }, logging: { level: 'silent', format: 'json' },
  } });
}

async function commandCount(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
}

/**
 * (a) direct: the same stage functions and store adapters, N documents in flight, no queues. `warmup`
 * documents go through first, the same way, and are not counted (as runPipeline's).
 */
export async function runDirect(
  docs: readonly BenchDoc[], redisUrl: string, inFlight: number, warmup: readonly BenchDoc[] = [], beforeTimed: () => Promise<void> = async () => undefined,
): Promise<RunResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-direct-'));
  const config = benchConfig(dir, redisUrl);
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  const artifacts = new TieredArtifactStore(redis, config.dataDir, config.artifacts.redisMaxBytes, 3600);
  const graph = await LadybugThreadGraphStore.open(path.join(dir, 'g'), { bufferPoolBytes: config.graph.ladybugBufferPoolMb * 1048576 });
  const vectors = await LanceVectorStore.open(path.join(dir, 'v'), config.embedder.dimensions);
  const embedder = new HashEmbedder({ dimensions: config.embedder.dimensions });
  const pool = new ParsePool({ size: config.parse.workerThreads, timeoutMs: config.parse.timeoutMs, maxOldGenerationSizeMb: config.parse.maxOldGenerationSizeMb });
  await pool.ready();
  const p = config.parse;
  const notSuperseded = async () => false;
  const one = async (d: BenchDoc, prefix: string) => {
    const uri = sourceUri.cli('bench', `/b/${prefix}${d.name}`, '/b');
    const docId = documentId('bench', uri);
    const job: StageJobData = { v: 1, op: 'ingest', jobId: jobIdFor(docId, 1), documentId: docId, generation: 1, tag: 'bench', sourceUri: uri, checksum: 'x', contentType: 'text/markdown' };
    await artifacts.put(artifactKeys.source(job.jobId), Buffer.from(d.text));
    const a = await parseStage({ job, upstream: undefined }, { artifacts, parse: (t, o, signal) => pool.parse(t, { ...o, maxSectionTokens: p.maxSectionTokens, maxDepth: p.maxDepth, segmentBytes: p.segmentBytes }, { signal }) }, ctx);
    const b = await extractStage({ job, upstream: a }, { artifacts, programs: config.ingest.programs }, ctx);
    const c = await embedStage({ job, upstream: b }, { artifacts, embedder, vectors, batchSize: config.embedder.batchSize }, ctx);
    const g = await graphStage({ job, upstream: c }, { artifacts, graph, isSuperseded: notSuperseded }, ctx);
    const v = await vectorStage({ job, upstream: g }, { artifacts, vectors, graph, isSuperseded: notSuperseded }, ctx);
    await verifyStage({ job, upstream: v }, {
      graph, vectors, query: (q, o) => hybridQuery({ graph, vectors, embedder }, q, { ...o, ...config.retrieval }),
      sampleQueries: () => [], selfQueryTopK: config.verify.selfQueryTopK, pipelineVersion: 'bench', embeddingVersion: embedder.version,
      jobState: async () => null, saveReport: async () => '', finishChain: async () => { await artifacts.deleteJob(job.jobId); },
    }, ctx);
  };
  const runAll = async (list: readonly BenchDoc[], prefix: string) => {
    let next = 0;
    await Promise.all(Array.from({ length: inFlight }, async () => { for (let i = next++; i < list.length; i = next++) await one(list[i]!, prefix); }));
  };
  await runAll(warmup, 'warmup-');
  await beforeTimed();
  const before = await commandCount(redis);
  const started = performance.now();
  await runAll(docs, '');
  const seconds = (performance.now() - started) / 1000;
  const redisCommands = (await commandCount(redis)) - before;
  await pool.close();
  await graph.close();
  await vectors.close();
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
  return { seconds, docs: docs.length, done: docs.length, redisCommands, latenciesMs: [] };
}

/**
 * (b) the pipeline on the embedded default (all six BullMQ stages in this process). `ratePerSecond`
 * makes it an open-loop arrival run (latency from admission to DONE); otherwise everything is submitted at once.
 * `warmup` documents go through the same system first, at the same rate, and are not counted: the first
 * documents after a start pay one-time costs (JIT, module loading in the parse thread, a second parse thread
 * starting, the stores' first statements); their latencies are returned apart.
 */
export async function runPipeline(
  docs: readonly BenchDoc[], redisUrl: string, ratePerSecond?: number, computeProcesses = 0, warmup: readonly BenchDoc[] = [],
): Promise<RunResult & { warmupLatenciesMs: number[]; stages: Awaited<ReturnType<typeof stageBreakdown>> | null }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-pipe-'));
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  const config = benchConfig(dir, redisUrl);
  const system = await startEmbeddedSystem(config, 'bench', silent, { computeElsewhere: computeProcesses > 0 });
  const children = computeProcesses > 0
    ? startStageChildren({ count: computeProcesses, logger: silent, env: { ...process.env, LOG_LEVEL: 'silent', REDIS_URL: redisUrl, INGEST_URL: system.url, INGEST_DASHBOARD_TOKEN: 'bench', INGEST_DATA_DIR: config.dataDir } })
    : null;
  if (children) await waitForWorkers(redis, computeProcesses);
  const rt = system.runtime;
  const submitAndWait = async (batch: readonly BenchDoc[], prefix: string) => {
    const started = performance.now();
    const ids: string[] = [];
    const submitted = new Map<string, number>();
    for (const [i, d] of batch.entries()) {
      if (ratePerSecond) {
        const due = started + (i * 1000) / ratePerSecond;
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      }
      const r = await rt.pipeline.submit({ bytes: Buffer.from(d.text), sourceUri: sourceUri.cli('bench', `/b/${prefix}${d.name}`, '/b'), tag: 'bench', contentType: 'text/markdown' });
      ids.push(r.job_id);
      submitted.set(r.job_id, Date.now());
    }
    // Waits for the oldest unfinished document only, moving on as each is final: one state read per
    // document and per 100 ms, where reading every open document's state each time cost this process
    // (which holds the store stages) tens of HGETALLs per document. A latency is the state's own end time
    // (updated_at), not when the poll saw it.
    const latencies: number[] = [];
    let done = 0;
    let polls = 0;
    for (let next = 0; next < ids.length;) {
      const s = await rt.pipeline.state.get(ids[next]!);
      polls++; // the benchmark's own HGETALLs are not the pipeline's
      if (!s || !FINAL_STATUSES.has(s.status)) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (s.status === 'DONE') done++;
      latencies.push(Date.parse(s.updated_at) - submitted.get(ids[next]!)!);
      next++;
    }
    return { seconds: (performance.now() - started) / 1000, latencies, done, polls, submitted };
  };
  const warm = warmup.length > 0 ? await submitAndWait(warmup, 'warmup-') : null;
  const before = await commandCount(redis);
  const run = await submitAndWait(docs, '');
  const redisCommands = (await commandCount(redis)) - before - run.polls - 1;
  const stages = ratePerSecond ? await stageBreakdown(redis, run.submitted) : null;
  await children?.stop();
  await system.close();
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
  return { seconds: run.seconds, docs: docs.length, done: run.done, redisCommands, latenciesMs: run.latencies, warmupLatenciesMs: warm?.latencies ?? [], stages };
}

/** Waits until every compute stage has `count` BullMQ workers connected (so timing starts warm). */
export async function waitForWorkers(connection: Redis | string, count: number): Promise<void> {
  const { Queue } = await import('bullmq');
  const redis = typeof connection === 'string' ? new Redis(connection) : connection;
  const queues = ['parse', 'extract', 'embed'].map((s) => new Queue(s, { connection: redis, prefix: '{ingest}' }));
  try {
    for (let i = 0; i < 600; i++) {
      const counts = await Promise.all(queues.map((q) => q.getWorkersCount()));
      if (counts.every((n) => n >= count)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('compute-stage processes did not start');
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    if (typeof connection === 'string') redis.disconnect();
  }
}
