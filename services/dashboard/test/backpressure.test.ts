import { expect } from 'chai';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ADMISSION_FIELD, backpressureKeys, createLogger, IngestMetrics, loadConfig, percentile, recentP95, type BackpressureSettings } from '@ingest/shared';
import { BackpressureController, redisSignalSource, type Signals, type SignalSource } from '../src/backpressure.js';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';

const PREFIX = '{bptest}';
const logger = createLogger({ service: 'bp-test', level: 'silent', format: 'json' });
const settings: BackpressureSettings = { ...loadConfig({ env: {} }).backpressure, sampleIntervalMs: 10_000, leaderTtlMs: 5000, vectorP95MaxMs: 200 };

/** A signal source the test sets by hand. */
class FakeSignals implements SignalSource {
  current: Signals = { graphLoad: 0, vectorP95Ms: 0, redisMemoryRatio: 0, queueAgesSeconds: {} };
  set(s: Partial<Signals>) { this.current = { ...this.current, ...s }; }
  async sample() { return this.current; }
}

describe('back-pressure controller (injected signals, real Redis)', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let conn: Redis;
  let graph: Queue;
  let vector: Queue;
  const open: BackpressureController[] = [];
  const controller = (signals: SignalSource, metrics?: IngestMetrics, id?: string) => {
    const c = new BackpressureController({ redis: conn, prefix: PREFIX, settings, logger, signals, ...(metrics ? { metrics } : {}), ...(id ? { id } : {}) });
    open.push(c);
    return c;
  };
  const ticks = async (c: BackpressureController, n: number) => { for (let i = 0; i < n; i++) await c.tick(); };

  before(async () => {
    redis = await startTestRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    graph = new Queue('graph', { connection: conn, prefix: PREFIX });
    vector = new Queue('vector', { connection: conn, prefix: PREFIX });
  });
  beforeEach(async () => {
    await conn.flushall();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await graph.close();
    await vector.close();
    conn.disconnect();
    await redis.stop();
  });

  it('pauses after 3 bad samples, resumes after 5 good ones, records its pause and exports the metrics', async () => {
    const s = new FakeSignals();
    const metrics = new IngestMetrics({ defaults: false });
    const c = controller(s, metrics);
    s.set({ vectorP95Ms: 350, graphLoad: 0.5 });
    await ticks(c, 2);
    expect(c.isLeader).to.equal(true);
    expect(await vector.isPaused()).to.equal(false);
    await c.tick();
    expect(await vector.isPaused()).to.equal(true);
    expect(await graph.isPaused()).to.equal(false);
    const h = await conn.hgetall(backpressureKeys.state);
    expect(JSON.parse(h['owned:vector']!).by).to.equal(c.id);
    expect(h.vector_p95_ms).to.equal('350.0');
    expect(h.leader).to.equal(c.id);
    const body = (await metrics.scrape()).body;
    expect(body).to.match(/ingest_backpressure_paused\{queue="vector"\} 1/);
    expect(body).to.match(/ingest_qdrant_p95_ms 350/);
    expect(body).to.match(/ingest_neo4j_cpu 0.5/);

    s.set({ vectorP95Ms: 20 });
    await ticks(c, 4);
    expect(await vector.isPaused()).to.equal(true);
    await c.tick();
    expect(await vector.isPaused()).to.equal(false);
    expect(await conn.hexists(backpressureKeys.state, 'owned:vector')).to.equal(0);
    expect((await metrics.scrape()).body).to.match(/ingest_backpressure_paused\{queue="vector"\} 0/);
  });

  it('a bad streak broken by one good sample does not pause (hysteresis)', async () => {
    const s = new FakeSignals();
    const c = controller(s);
    for (const p95 of [300, 300, 10, 300, 300]) { s.set({ vectorP95Ms: p95 }); await c.tick(); }
    expect(await vector.isPaused()).to.equal(false);
    await c.tick();
    expect(await vector.isPaused()).to.equal(true);
  });

  it('never resumes a queue an operator paused, through overload and recovery', async () => {
    await vector.pause(); // the operator (Bull Board / ingestctl queues pause)
    await graph.pause();
    const s = new FakeSignals();
    const c = controller(s);
    s.set({ vectorP95Ms: 900, graphLoad: 3 });
    await ticks(c, 6);
    expect(await conn.hexists(backpressureKeys.state, 'owned:vector')).to.equal(0);
    s.set({ vectorP95Ms: 1, graphLoad: 0 });
    await ticks(c, 10);
    expect(await vector.isPaused()).to.equal(true);
    expect(await graph.isPaused()).to.equal(true);
  });

  it('drops ownership when an operator resumes its pause, and then does not pause again without a new bad streak', async () => {
    const s = new FakeSignals();
    const c = controller(s);
    s.set({ graphLoad: 0.95 });
    await ticks(c, 3);
    expect(await graph.isPaused()).to.equal(true);
    await graph.resume(); // the operator overrides
    await c.tick();
    expect(await conn.hexists(backpressureKeys.state, 'owned:graph')).to.equal(0);
  });

  it('one leader at a time; a new leader resumes a dead leader\'s pause once signals are good', async () => {
    const s = new FakeSignals();
    const a = controller(s, undefined, 'bp-a');
    const b = controller(s, undefined, 'bp-b');
    s.set({ vectorP95Ms: 500 });
    await a.tick();
    await b.tick();
    expect(a.isLeader).to.equal(true);
    expect(b.isLeader).to.equal(false);
    await ticks(b, 5);
    await ticks(a, 2);
    expect(await vector.isPaused()).to.equal(true);
    expect(JSON.parse((await conn.hget(backpressureKeys.state, 'owned:vector'))!).by).to.equal('bp-a');
    // a dies without releasing the lock; b takes over when it expires.
    await a.close({ release: false });
    await conn.del(backpressureKeys.leader); // the lock's TTL ran out
    s.set({ vectorP95Ms: 5 });
    await ticks(b, 4);
    expect(b.isLeader).to.equal(true);
    expect(await vector.isPaused()).to.equal(true);
    await b.tick();
    expect(await vector.isPaused()).to.equal(false);
  });

  it('stops admission on Redis memory and lets it in again', async () => {
    const s = new FakeSignals();
    const c = controller(s);
    s.set({ redisMemoryRatio: 0.9 });
    await ticks(c, 3);
    expect(await conn.hget(backpressureKeys.state, ADMISSION_FIELD)).to.equal('1');
    s.set({ redisMemoryRatio: 0.1 });
    await ticks(c, 5);
    expect(await conn.hget(backpressureKeys.state, ADMISSION_FIELD)).to.equal(null);
  });

  it('start() sets the global concurrency caps of graph and vector', async () => {
    await controller(new FakeSignals()).start();
    expect(await graph.getGlobalConcurrency()).to.equal(settings.globalConcurrency.graph);
    expect(await vector.getGlobalConcurrency()).to.equal(settings.globalConcurrency.vector);
  });

  it('a pause it made is judged by the latency since the pause: the samples that caused it do not keep it paused', async () => {
    // Real signals from published latency samples. The queue paused by the controller writes nothing new,
    // so a 60 s window still holding the bad samples used to keep it paused until they aged out.
    const c = controller(redisSignalSource(conn, PREFIX, settings));
    const publish = (ms: number) => conn.lpush(backpressureKeys.latency('vector'), ...Array.from({ length: 20 }, () => `${Date.now()}:${ms}`));
    for (let i = 0; i < 3; i++) {
      await publish(900);
      await c.tick();
    }
    expect(await vector.isPaused()).to.equal(true);
    const pausedAt = JSON.parse((await conn.hget(backpressureKeys.state, 'owned:vector'))!).at as number;
    expect(await recentP95(conn, 'vector', settings.latencyWindowMs, settings.latencySamples)).to.equal(900); // still in the window
    await ticks(c, 4);
    expect(await conn.hget(backpressureKeys.state, 'vector_p95_ms')).to.equal('0.0'); // nothing since the pause
    expect(await vector.isPaused()).to.equal(true);
    await c.tick();
    expect(await vector.isPaused()).to.equal(false);
    // A sample written after the pause began counts.
    expect(await recentP95(conn, 'vector', settings.latencyWindowMs, settings.latencySamples, pausedAt)).to.equal(0);
    await conn.lpush(backpressureKeys.latency('vector'), `${pausedAt + 1}:700`);
    expect(await recentP95(conn, 'vector', settings.latencyWindowMs, settings.latencySamples, pausedAt)).to.equal(700);
  });

  it('reads p95 from the latency samples the store wrappers publish, ignoring old ones', async () => {
    const now = Date.now();
    await conn.lpush(backpressureKeys.latency('vector'), `${now - 600_000}:9999`, ...Array.from({ length: 20 }, (_, i) => `${now}:${i + 1}`));
    expect(await recentP95(conn, 'vector', 60_000, 512)).to.equal(19);
    expect(await recentP95(conn, 'graph', 60_000, 512)).to.equal(0);
    expect(percentile([5], 0.95)).to.equal(5);
  });
});
