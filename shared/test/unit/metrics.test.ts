import { expect } from 'chai';
import { IngestMetrics, QUEUE_STATES, type QueueSample } from '../../src/metrics/metrics.js';
import { STAGES } from '../../src/queue/topology.js';

/** The metric names DESIGN §9 requires, each with its label names. */
const DESIGN_METRICS: Record<string, string[]> = {
  ingest_queue_depth: ['queue', 'state'],
  ingest_queue_oldest_age_seconds: ['queue'],
  ingest_watchers_count: [],
  ingest_watcher_events_total: ['source_kind', 'event'],
  ingest_backpressure_paused: ['queue'],
  ingest_neo4j_cpu: [],
  ingest_qdrant_p95_ms: [],
  ingest_stage_duration_seconds: ['stage'],
  ingest_stage_jobs_total: ['stage', 'outcome'],
  ingest_documents_total: ['outcome'],
  ingest_drift_pct: [],
  ingest_ready_for_queries: [],
  ingest_freshness_lag_seconds: [],
  ingest_store_write_seconds: ['store', 'op'],
};

/** `name{labels} value` lines of the exposition text, as [series, value]. */
const series = (body: string): Map<string, number> =>
  new Map(body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const i = l.lastIndexOf(' ');
    return [l.slice(0, i), Number(l.slice(i + 1))] as const;
  }));

describe('metrics (DESIGN §9)', () => {
  let m: IngestMetrics;
  beforeEach(() => { m = new IngestMetrics(); });
  afterEach(async () => m.close());

  it('registers every DESIGN §9 metric with exactly its low-cardinality labels, plus process defaults', async () => {
    const json = await m.registry.getMetricsAsJSON();
    for (const [name, labels] of Object.entries(DESIGN_METRICS)) {
      const metric = m.registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined;
      expect(metric, name).to.not.equal(undefined);
      expect([...(metric!.labelNames ?? [])].sort(), name).to.deep.equal([...labels].sort());
    }
    const names = json.map((x) => x.name);
    expect(names).to.include.members(['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']);
    const own = names.filter((n) => n.startsWith('ingest_'));
    expect(own.sort()).to.deep.equal(Object.keys(DESIGN_METRICS).sort());
  });

  it('counts stage outcomes and observes durations of completed jobs from onJobFinished', async () => {
    m.stageFinished('parse', 250, 'completed', { result: { v: 1, counts: {} } });
    m.stageFinished('parse', 10, 'failed');
    m.stageFinished('embed', 1500, 'completed');
    const s = series((await m.scrape()).body);
    expect(s.get('ingest_stage_jobs_total{stage="parse",outcome="completed"}')).to.equal(1);
    expect(s.get('ingest_stage_jobs_total{stage="parse",outcome="failed"}')).to.equal(1);
    expect(s.get('ingest_stage_jobs_total{stage="verify",outcome="completed"}'), 'series exist before the first job').to.equal(0);
    expect(s.get('ingest_stage_duration_seconds_count{stage="parse"}')).to.equal(1);
    expect(s.get('ingest_stage_duration_seconds_sum{stage="parse"}')).to.equal(0.25);
    expect(s.get('ingest_stage_duration_seconds_bucket{le="0.25",stage="parse"}')).to.equal(1);
    expect(s.get('ingest_stage_duration_seconds_bucket{le="0.1",stage="parse"}')).to.equal(0);
    expect(s.get('ingest_stage_duration_seconds_sum{stage="embed"}')).to.equal(1.5);
  });

  it('takes drift, readiness and freshness lag from the verify stage result', async () => {
    const createdAt = Date.now() - 4000;
    m.stageFinished('verify', 20, 'completed', { result: { v: 1, counts: {}, status: 'DONE', drift_pct: 0.75, ready_for_queries: true } as never, createdAt });
    let s = series((await m.scrape()).body);
    expect(s.get('ingest_drift_pct')).to.equal(0.75);
    expect(s.get('ingest_ready_for_queries')).to.equal(1);
    expect(s.get('ingest_freshness_lag_seconds')).to.be.within(3.9, 10);
    // A deletion reports drift but says nothing about readiness or freshness.
    m.stageFinished('verify', 20, 'completed', { result: { v: 1, counts: {}, status: 'DELETED', drift_pct: 0, ready_for_queries: false } as never, createdAt: Date.now() - 60_000 });
    s = series((await m.scrape()).body);
    expect(s.get('ingest_drift_pct')).to.equal(0);
    expect(s.get('ingest_ready_for_queries')).to.equal(1);
    expect(s.get('ingest_freshness_lag_seconds')).to.be.below(10);
    m.stageFinished('verify', 20, 'completed', { result: { v: 1, counts: {}, status: 'DONE', drift_pct: 0, ready_for_queries: false } as never, createdAt });
    expect(series((await m.scrape()).body).get('ingest_ready_for_queries')).to.equal(0);
  });

  it('counts document outcomes, ignoring statuses that are not an end', async () => {
    m.documentOutcome('DONE');
    m.documentOutcome('DONE');
    m.documentOutcome('SKIPPED');
    m.documentOutcome('PARSING');
    const s = series((await m.scrape()).body);
    expect(s.get('ingest_documents_total{outcome="DONE"}')).to.equal(2);
    expect(s.get('ingest_documents_total{outcome="SKIPPED"}')).to.equal(1);
    expect(s.get('ingest_documents_total{outcome="CANCELLED"}')).to.equal(0);
    expect([...s.keys()].some((k) => k.includes('PARSING'))).to.equal(false);
  });

  it('times only the named store writes, passing results, errors and other calls through', async () => {
    class Store {
      private rows = 0;
      async upsert(n: number) { this.rows += n; return this.rows; }
      async fail() { throw new Error('boom'); }
      async count() { return this.rows; }
    }
    const store = m.timeStoreWrites(new Store(), 'lancedb', ['upsert', 'fail']);
    expect(await store.upsert(3)).to.equal(3);
    expect(await store.upsert(2)).to.equal(5);
    expect(await store.count()).to.equal(5);
    let caught: unknown;
    await store.fail().catch((e: unknown) => { caught = e; });
    expect((caught as Error).message).to.equal('boom');
    const s = series((await m.scrape()).body);
    expect(s.get('ingest_store_write_seconds_count{store="lancedb",op="upsert"}')).to.equal(2);
    expect(s.get('ingest_store_write_seconds_count{store="lancedb",op="fail"}')).to.equal(1);
    expect([...s.keys()].some((k) => k.includes('op="count"'))).to.equal(false);
  });

  it('samples queues in the background; a scrape never waits on a hung reader', async () => {
    let reads = 0;
    const sample = (n: number): QueueSample[] => STAGES.map((queue) => ({ queue, counts: { waiting: n, active: 1 }, oldestWaitingAgeSeconds: n * 2 }));
    let release: () => void = () => undefined;
    m.startQueueSampler({
      read: async () => {
        reads += 1;
        if (reads === 1) return sample(3);
        await new Promise<void>((resolve) => { release = resolve; }); // Redis hangs from the second sample on
        return sample(9);
      },
    }, 20);
    await new Promise((r) => setTimeout(r, 100));
    expect(reads, 'one sample at a time: the hung read blocks the next one, nothing piles up').to.equal(2);
    const started = performance.now();
    const s = series((await m.scrape()).body);
    expect(performance.now() - started).to.be.below(500);
    expect(s.get('ingest_queue_depth{queue="embed",state="waiting"}')).to.equal(3);
    expect(s.get('ingest_queue_depth{queue="embed",state="failed"}')).to.equal(0);
    expect(s.get('ingest_queue_oldest_age_seconds{queue="verify"}')).to.equal(6);
    for (const state of QUEUE_STATES) expect(s.has(`ingest_queue_depth{queue="parse",state="${state}"}`), state).to.equal(true);
    const closing = m.close();
    release();
    await closing;
    expect(series((await m.scrape()).body).get('ingest_queue_depth{queue="embed",state="waiting"}')).to.equal(9);
  });

  it('keeps the last sample when a read fails, and reports the error', async () => {
    const errors: unknown[] = [];
    const m2 = new IngestMetrics({ defaults: false, onSampleError: (e) => errors.push(e) });
    let n = 0;
    m2.startQueueSampler({ read: async () => { n += 1; if (n > 1) throw new Error('redis down'); return [{ queue: 'graph', counts: { waiting: 4 }, oldestWaitingAgeSeconds: 1 }]; } }, 10);
    await new Promise((r) => setTimeout(r, 60));
    await m2.close();
    expect(errors.length).to.be.greaterThan(0);
    expect(series((await m2.scrape()).body).get('ingest_queue_depth{queue="graph",state="waiting"}')).to.equal(4);
  });

  it('serves /metrics on its own port when INGEST_METRICS_PORT is set (stage services), and not otherwise', async () => {
    expect(await m.serveFromEnv({})).to.equal(null);
    const port = await m.serveFromEnv({ INGEST_METRICS_PORT: '0', INGEST_METRICS_HOST: '127.0.0.1' });
    expect(port).to.be.a('number').greaterThan(0);
    m.stageFinished('graph', 5, 'completed');
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    expect(await r.text()).to.match(/^ingest_stage_jobs_total\{stage="graph",outcome="completed"\} 1$/m);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).to.equal(404);
    await m.close();
    const after = await fetch(`http://127.0.0.1:${port}/metrics`).then(() => 'answered', () => 'refused');
    expect(after).to.equal('refused');
    const refused = await new IngestMetrics({ defaults: false }).serveFromEnv({ INGEST_METRICS_PORT: 'ninety' }).then(() => '', (e: unknown) => String(e));
    expect(refused).to.contain('INGEST_METRICS_PORT must be a port number');
  });
});
