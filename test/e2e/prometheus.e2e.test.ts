import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { documentId, QUEUE_STATES, REPO_ROOT, STAGES } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { ingestAndWait } from '../helpers/wait.js';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { dashboardQueries } from '../helpers/promql.js';

const DASHBOARD = path.join(REPO_ROOT, 'infra', 'grafana', 'provisioning', 'dashboards', 'json', 'graphrag-ingest.json');
const ALERTS = path.join(REPO_ROOT, 'infra', 'prometheus', 'alerts.yml');

describe('a real Prometheus scrapes the running system (DESIGN §9, §13)', function () {
  this.timeout(120_000);
  let t: TestSystem;
  let prom: TestPrometheus;

  before(async () => {
    t = await startTestSystem({ overrides: { dashboard: { metricsSampleIntervalMs: 200 } } });
    prom = await startPrometheus({ target: new URL(t.system.url).host, rulesFile: ALERTS });
  });
  after(async () => {
    await prom?.stop();
    await t?.stop();
  });

  /** Polls a PromQL query until `accept` holds for its result (scrapes run every second). */
  const until = async (expr: string, accept: (r: { metric: Record<string, string>; value: [number, string] }[]) => boolean) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await prom.query(expr);
      expect(r.status, `${expr}: ${r.error}`).to.equal('success');
      if (accept(r.data!.result)) return r.data!.result;
      if (Date.now() > deadline) throw new Error(`${expr}: still ${JSON.stringify(r.data!.result).slice(0, 500)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  it('serves /metrics without a token, with no document identity in it', async () => {
    const s = await ingestAndWait(t.api, 'cli://prom/secret-plan.md', '# Secret plan\n\nQuarterly numbers stay private.\n');
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');
    // DONE is visible a moment before verify's worker has counted the finished job (its last Redis write
    // comes first), so the scrape is repeated until that count is in, as a Prometheus scrape would be.
    const verified = /^ingest_stage_jobs_total\{stage="verify",outcome="completed"\} 1$/m;
    const deadline = Date.now() + 10_000;
    let r: Response;
    let body: string;
    for (;;) {
      r = await fetch(`${t.system.url}/metrics`);
      body = await r.text();
      if (verified.test(body) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    for (const needle of ['secret-plan', 'cli://', s.job_id, documentId('e2e', 'cli://prom/secret-plan.md'), 'Quarterly']) {
      expect(body, needle).to.not.contain(needle);
    }
    expect(body).to.match(/^ingest_documents_total\{outcome="DONE"\} 1$/m);
    expect(body).to.match(/^ingest_stage_jobs_total\{stage="verify",outcome="completed"\} 1$/m);
    expect(body).to.match(/^ingest_ready_for_queries 1$/m);
    expect(Number(/^ingest_freshness_lag_seconds (\S+)$/m.exec(body)?.[1])).to.be.greaterThan(0);
    expect(body).to.match(/^ingest_store_write_seconds_count\{store="ladybug",op="writeVersion"\} 1$/m);
    expect(body).to.match(/^ingest_store_write_seconds_count\{store="lancedb",op="upsert"\} [1-9]/m);
    expect(body).to.match(/^process_resident_memory_bytes [0-9]/m);
  });

  it('answers a PromQL query for ingest_queue_depth with a series per queue and state', async () => {
    const result = await until('ingest_queue_depth', (r) => r.length >= STAGES.length * QUEUE_STATES.length);
    expect(result).to.have.length(STAGES.length * QUEUE_STATES.length);
    expect(new Set(result.map((x) => x.metric.queue))).to.deep.equal(new Set(STAGES));
    expect(new Set(result.map((x) => x.metric.state))).to.deep.equal(new Set(QUEUE_STATES));
    expect(result.every((x) => x.metric.job === 'ingest-dashboard')).to.equal(true);
    // The sampler has seen the finished chain: one completed job in every stage queue.
    await until('ingest_queue_depth{state="completed"} == 1', (r) => r.length === STAGES.length);
    const done = await until('ingest_documents_total{outcome="DONE"}', (r) => r.length === 1);
    expect(Number(done[0]!.value[1])).to.equal(1);
    const targets = await prom.get<{ data: { activeTargets: { health: string; scrapeUrl: string }[] } }>('/api/v1/targets');
    expect(targets.data.activeTargets.map((x) => x.health)).to.deep.equal(['up']);
  });

  it('loads the alert rules and evaluates them without error; the healthy system fires none', async () => {
    const deadline = Date.now() + 30_000;
    let rules: { name: string; health: string; lastError?: string; state: string }[] = [];
    while (Date.now() < deadline) {
      const r = await prom.get<{ data: { groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[] } }>('/api/v1/rules');
      rules = r.data.groups.flatMap((g) => g.rules);
      if (rules.length > 0 && rules.every((x) => x.health === 'ok')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(rules.map((x) => x.name)).to.include.members(['IngestChainsParked', 'IngestJobStuck', 'IngestDriftHigh', 'IngestBackpressureEngagedTooLong',
      'IngestNoProgressWithBacklog', 'IngestStageFailureRate']);
    expect(rules.filter((x) => x.health !== 'ok')).to.deep.equal([]);
    expect(rules.filter((x) => x.state !== 'inactive').map((x) => x.name)).to.deep.equal([]);
  });

  it('evaluates every Grafana dashboard query against the live data without error', async () => {
    const queries = dashboardQueries(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
    expect(queries.length).to.be.greaterThan(10);
    for (const q of queries) {
      const expr = q.expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m').replaceAll('$__interval', '15s');
      const r = await prom.query(expr);
      expect(r.status, `${q.where}: ${q.expr}: ${r.error}`).to.equal('success');
    }
    const depth = await prom.query('sum by (queue, state) (ingest_queue_depth{state=~"waiting|active|delayed|prioritized|waiting-children"})');
    expect(depth.data!.result.length).to.be.greaterThan(0);
  });
});
