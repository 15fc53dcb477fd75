import { expect } from 'chai';
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createStageWorker } from '../../src/queue/stage-worker.js';
import { JobStateStore } from '../../src/ledger/job-state.js';
import { ChainControl } from '../../src/admission/chain-control.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';
import { PermanentError } from '../../src/errors/errors.js';
import { documentId, jobIdFor } from '../../src/ids/ids.js';
import { nodeJobId, type StageJobData, type StageName } from '../../src/queue/topology.js';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';

describe('stage-worker adapter (real BullMQ on real Redis)', function () {
  this.timeout(120_000);
  let server: TestRedis;
  let redis: Redis;
  const logger = createLogger({ service: 'test', level: 'silent', format: 'json' });

  before(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const config = (attempts: number) => loadConfig({ env: {}, ingest: { programs: [], tags: {} }, overrides: {
    redis: { url: server.url }, queue: { prefix: `{t${Math.random().toString(36).slice(2, 8)}}` },
    stages: Object.fromEntries(['parse', 'extract', 'embed', 'graph', 'vector', 'verify'].map((s) => [s, { concurrency: 1, attempts, backoffMs: 10, lockDurationMs: 5000 }])),
  } });
  const data = (stage: StageName, n: number): StageJobData => {
    const d = documentId('t', `cli://t/${stage}${n}.md`);
    return { v: 1, op: 'ingest', jobId: jobIdFor(d, 1), documentId: d, generation: 1, tag: 't', sourceUri: 'cli://t/x.md', checksum: 'c', contentType: 'text/markdown' };
  };

  async function runOne(stage: StageName, attempts: number, fn: () => Promise<{ v: 1; counts: Record<string, number> }>) {
    const cfg = config(attempts);
    const failures: { code: string; message: string }[] = [];
    const state = new JobStateStore(redis, 60, 10);
    const worker = createStageWorker({ stage, fn, deps: {}, connection: redis, config: cfg, logger,
      state, onFinalFailure: async (_d, e) => { failures.push(e); } });
    const queue = new Queue(stage, { connection: redis, prefix: cfg.queue.prefix });
    // BullMQ leaves a connection it was handed open on close(): this one is disconnected below, or it would
    // reconnect (and print) for the rest of the run once the test Redis stops.
    const eventsConnection = redis.duplicate();
    const events = new QueueEvents(stage, { connection: eventsConnection, prefix: cfg.queue.prefix });
    await events.waitUntilReady();
    void worker.run();
    const d = data(stage, Math.random());
    await state.create({ jobId: d.jobId, sourceUri: d.sourceUri, contentType: d.contentType, checksum: d.checksum, tag: d.tag, generation: 1, op: 'ingest', status: 'PENDING' });
    const job = await queue.add(stage, d, { attempts, backoff: { type: 'fixed', delay: 10 } });
    const outcome = await job.waitUntilFinished(events, 60_000).then(() => 'completed', (e: Error) => e.message);
    // The final-failure report runs after BullMQ's failed event: wait for it (with a deadline).
    for (const deadline = Date.now() + 10_000; outcome !== 'completed' && failures.length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
    const final = await queue.getJob(job.id!);
    await worker.close();
    await events.close();
    eventsConnection.disconnect();
    await queue.close();
    return { outcome, failures, attemptsMade: final?.attemptsMade ?? -1, state: await state.get(d.jobId) };
  }

  it('turns a Retry-After into a queue rate limit that does not burn an attempt', async () => {
    let calls = 0;
    const started = Date.now();
    const r = await runOne('parse', 1, async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('EMBEDDER_RATE_LIMITED: 429'), { retryAfterMs: 300 });
      return { v: 1, counts: {} };
    });
    expect(r.outcome).to.equal('completed');
    expect(calls).to.equal(2);
    expect(Date.now() - started).to.be.greaterThan(250);
  });

  it('fails a PermanentError at once, with its code, and reports the final failure', async () => {
    let calls = 0;
    const r = await runOne('parse', 5, async () => { calls++; throw new PermanentError('TOO_DEEP', 'nesting 150 > 100'); });
    expect(r.outcome).to.match(/^TOO_DEEP: /);
    expect(calls).to.equal(1);
    expect(r.failures).to.deep.equal([{ code: 'TOO_DEEP', message: 'nesting 150 > 100' }]);
    // The dead letter: stage, one attempt, first seen ≤ last seen, no document bytes.
    expect(r.state).to.deep.include({ failed_stage: 'parse', attempts: 1 });
    expect(Date.parse(r.state!.first_seen!)).to.be.at.most(Date.parse(r.state!.last_seen!));
  });

  it('bounds the stored failure message (a parser may quote a whole document)', async () => {
    const r = await runOne('parse', 1, async () => { throw new PermanentError('PARSE_ERROR', `unexpected ${'x'.repeat(5000)}`); });
    expect(r.failures[0]!.message.length).to.equal(500);
    expect(r.state).to.deep.include({ failed_stage: 'parse', attempts: 1 });
  });

  it('retries other errors up to the attempts, then reports the final failure once', async () => {
    let calls = 0;
    const r = await runOne('parse', 3, async () => { calls++; throw new Error('flaky'); });
    expect(calls).to.equal(3);
    expect(r.failures).to.have.length(1);
    expect(r.state).to.deep.include({ failed_stage: 'parse', attempts: 3 });
    // first_seen is the first attempt's start, last_seen the third attempt's failure (two backoffs later).
    expect(Date.parse(r.state!.first_seen!)).to.be.lessThan(Date.parse(r.state!.last_seen!));
  });

  it('refuses to run a later stage without its upstream result (MISSING_UPSTREAM)', async () => {
    let calls = 0;
    const r = await runOne('embed', 3, async () => { calls++; return { v: 1, counts: {} }; });
    expect(calls).to.equal(0);
    expect(r.outcome).to.match(/^MISSING_UPSTREAM/);
    // Never reached stageStarted: first_seen falls back to BullMQ's processedOn, still ≤ last_seen.
    expect(r.state).to.deep.include({ failed_stage: 'embed', attempts: 1 });
    expect(Date.parse(r.state!.first_seen!)).to.be.at.most(Date.parse(r.state!.last_seen!));
  });

  it('aborts the job it holds on a cancel broadcast, and the jobs it runs do not wake its cancel reader', async () => {
    const cfg = config(1);
    const state = new JobStateStore(redis, 60, 10);
    const control = new ChainControl(cfg, redis, state);
    const failures: { code: string; message: string }[] = [];
    const target = data('parse', Math.random());
    let heldSignal: AbortSignal | undefined;
    let held: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => { held = resolve; });
    const worker = createStageWorker({
      stage: 'parse', deps: {}, connection: redis, config: cfg, logger, state, control,
      onFinalFailure: async (_d, e) => { failures.push(e); },
      fn: async ({ job }, _deps, ctx) => {
        if (job.jobId === target.jobId) {
          heldSignal = ctx.signal;
          held();
          await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
        }
        return { v: 1 as const, counts: {} };
      },
    });
    const queue = new Queue('parse', { connection: redis, prefix: cfg.queue.prefix });
    const xreads = async () => Number(/cmdstat_xread:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const settled = (id: string) => new Promise<void>((resolve) => {
      const on = (job: { id?: string } | undefined) => { if (job?.id === id) { worker.off('completed', on); worker.off('failed', on); resolve(); } };
      worker.on('completed', on);
      worker.on('failed', on);
    });
    try {
      void worker.run();
      await worker.waitUntilReady();
      // Twenty jobs one after another: on a stage queue's own event stream each would wake the reader.
      const before = await xreads();
      for (let i = 0; i < 20; i++) {
        const d = data('parse', Math.random());
        const done = settled(d.jobId);
        await queue.add('parse', d, { jobId: d.jobId });
        await done;
      }
      expect((await xreads()) - before).to.be.at.most(3);

      // Node job ids are `<version>-<stage>`, as the flow names them; the broadcast names the version.
      const done = settled(nodeJobId(target.jobId, 'parse'));
      await queue.add('parse', target, { jobId: nodeJobId(target.jobId, 'parse') });
      await holding;
      await control.cancel(target.jobId, 'ingest:ledger:none');
      await done;
      expect(heldSignal?.aborted).to.equal(true);
      for (const deadline = Date.now() + 10_000; failures.length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
      expect(failures.map((f) => f.code)).to.deep.equal(['CANCELLED']);
    } finally {
      await worker.close();
      await queue.close();
      await control.close();
    }
  });

  it('a stage that takes a cancelled version ends it CANCELLED without running or recording a start', async () => {
    const cfg = config(3);
    const state = new JobStateStore(redis, 60, 10);
    const control = new ChainControl(cfg, redis, state);
    const failures: { code: string; message: string }[] = [];
    let calls = 0;
    const worker = createStageWorker({
      stage: 'extract', deps: {}, connection: redis, config: cfg, logger, state, control,
      onFinalFailure: async (_d, e) => { failures.push(e); },
      fn: async () => { calls++; return { v: 1 as const, counts: {} }; },
    });
    // An extract job with its parse child done, as a flow leaves it.
    const d = data('extract', Math.random());
    const flow = new FlowProducer({ connection: redis, prefix: cfg.queue.prefix });
    const parseQueue = new Queue('parse', { connection: redis, prefix: cfg.queue.prefix });
    try {
      await state.create({ jobId: d.jobId, sourceUri: d.sourceUri, contentType: d.contentType, checksum: d.checksum, tag: d.tag, generation: 1, op: 'ingest', status: 'PENDING' });
      await flow.add({ name: 'extract', queueName: 'extract', data: d, opts: { jobId: nodeJobId(d.jobId, 'extract') },
        children: [{ name: 'parse', queueName: 'parse', data: d, opts: { jobId: nodeJobId(d.jobId, 'parse') } }] });
      const parseWorker = createStageWorker({ stage: 'parse', deps: {}, connection: redis, config: cfg, logger, state,
        onFinalFailure: async () => undefined, fn: async () => ({ v: 1 as const, counts: {} }) });
      const parsed = new Promise<void>((resolve) => parseWorker.on('completed', () => resolve()));
      void parseWorker.run();
      await parsed;
      await parseWorker.close();
      await control.cancel(d.jobId, 'ingest:ledger:none');
      void worker.run();
      for (const deadline = Date.now() + 10_000; failures.length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
      expect(failures.map((f) => f.code)).to.deep.equal(['CANCELLED']);
      expect(calls).to.equal(0);
      const st = await state.get(d.jobId);
      expect(st?.status).to.not.equal('EXTRACTING');
      expect(await redis.hget(`ingest:state:${d.jobId}`, 'seen_extract')).to.equal(null);
    } finally {
      await worker.close();
      await flow.close();
      await parseQueue.close();
      await control.close();
    }
  });
});
