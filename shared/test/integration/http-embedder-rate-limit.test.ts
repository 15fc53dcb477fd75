/**
 * 429 with Retry-After from an OpenAI-compatible server, end to end through the stage-worker adapter on
 * real BullMQ: the HttpEmbedder's RateLimitedError rate-limits the embed queue for the server's delay and
 * the job runs again without spending an attempt (attempts: 1 would otherwise fail it); 5xx past the
 * embedder's own retries spends one.
 */
import { expect } from 'chai';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { HttpEmbedder } from '../../src/adapters/embedder/http-embedder.js';
import { loadConfig } from '../../src/config/load-config.js';
import { documentId, jobIdFor } from '../../src/ids/ids.js';
import { JobStateStore } from '../../src/ledger/job-state.js';
import { createLogger } from '../../src/logging/logger.js';
import { createStageWorker } from '../../src/queue/stage-worker.js';
import type { StageJobData } from '../../src/queue/topology.js';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';
import { API_KEY, DIMS, FakeOpenAI, MODEL } from '../contract/openai-fake.js';

describe('HttpEmbedder 429 → queue rate limit (real BullMQ, loopback OpenAI server)', function () {
  this.timeout(30_000);
  let redisServer: TestRedis;
  let redis: Redis;
  const openai = new FakeOpenAI();
  const logger = createLogger({ service: 'test', level: 'silent', format: 'json' });

  before(async () => {
    redisServer = await startTestRedis();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    await openai.start();
  });
  after(async () => {
    redis?.disconnect();
    await redisServer?.stop();
    await openai.stop();
  });

  async function embedOnce(attempts: number) {
    const config = loadConfig({ env: {}, ingest: { programs: [], tags: {} }, overrides: {
      redis: { url: redisServer.url }, queue: { prefix: `{rl${Math.random().toString(36).slice(2, 8)}}` },
    } });
    const embedder = new HttpEmbedder({ url: openai.url, model: MODEL, dimensions: DIMS, apiKey: API_KEY, maxRetries: 1, backoffMs: 5 });
    let calls = 0;
    const vectors: number[][] = [];
    const worker = createStageWorker({
      stage: 'parse', // the first stage: no upstream result needed; the embedder call is what is under test
      fn: async () => {
        calls++;
        vectors.push(...(await embedder.embed(['install redis', 'configure replication'])));
        return { v: 1 as const, counts: { embedded: 2 } };
      },
      deps: {}, connection: redis, config, logger, state: new JobStateStore(redis, 60, 10), onFinalFailure: async () => undefined,
    });
    const queue = new Queue('parse', { connection: redis, prefix: config.queue.prefix });
    const eventsConnection = redis.duplicate();
    const events = new QueueEvents('parse', { connection: eventsConnection, prefix: config.queue.prefix });
    await events.waitUntilReady();
    void worker.run();
    const d = documentId('t', `cli://t/${Math.random()}.md`);
    const data: StageJobData = { v: 1, op: 'ingest', jobId: jobIdFor(d, 1), documentId: d, generation: 1, tag: 't', sourceUri: 'cli://t/x.md', checksum: 'c', contentType: 'text/markdown' };
    const started = Date.now();
    const job = await queue.add('parse', data, { attempts, backoff: { type: 'fixed', delay: 10 } });
    const outcome = await job.waitUntilFinished(events, 20_000).then(() => 'completed', (e: Error) => e.message);
    const final = await queue.getJob(job.id!);
    await worker.close();
    await events.close();
    eventsConnection.disconnect();
    await queue.close();
    await embedder.close();
    return { outcome, calls, ms: Date.now() - started, attemptsMade: final?.attemptsMade ?? -1, vectors };
  }

  it('two 429s with Retry-After: the job waits them out and completes on its single attempt', async () => {
    openai.plans.push(
      { kind: 'status', status: 429, headers: { 'retry-after-ms': '300' } },
      { kind: 'status', status: 429, headers: { 'retry-after': '0.3' } },
    );
    const r = await embedOnce(1);
    expect(r.outcome).to.equal('completed');
    expect(r.calls).to.equal(3);
    expect(r.ms).to.be.at.least(550);
    expect(r.vectors).to.have.length(2);
    expect(r.attemptsMade).to.be.at.most(1);
  });

  it('5xx beyond the embedder\'s own retries spends an attempt (and fails a single-attempt job)', async () => {
    for (let i = 0; i < 4; i++) openai.plans.push({ kind: 'status', status: 503 });
    const r = await embedOnce(1);
    expect(r.outcome).to.match(/EMBEDDER_UNAVAILABLE|503/);
    expect(r.calls).to.equal(1);
  });
});
