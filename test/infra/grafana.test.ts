import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { IngestMetrics, REPO_ROOT } from '@ingest/shared';
import { dashboardQueries, exportedSeriesNames, metricNamesOf, metricNamesOfVariableQuery, unknownMetrics } from '../helpers/promql.js';

const GRAFANA = path.join(REPO_ROOT, 'infra', 'grafana', 'provisioning');
const DASHBOARD_DIR = path.join(GRAFANA, 'dashboards', 'json');
const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

describe('Grafana provisioning and dashboards use only metrics the code exports (DESIGN §9)', () => {
  let exported: Set<string>;
  const metrics = new IngestMetrics();
  before(async () => { exported = await exportedSeriesNames(metrics.registry); });
  after(async () => metrics.close());

  describe('the PromQL name extractor', () => {
    it('finds selector names and skips functions, keywords, label names, strings, ranges and Grafana macros', () => {
      expect(metricNamesOf('histogram_quantile(0.95, sum by (stage, le) (rate(ingest_stage_duration_seconds_bucket{stage=~"parse|embed"}[$__rate_interval])))'))
        .to.deep.equal(['ingest_stage_duration_seconds_bucket']);
      expect(metricNamesOf('sum(a_total) by (x) / on (x) group_left (y) b_info offset 5m > bool 1e3 unless c{d="not_a_metric"}'))
        .to.deep.equal(['a_total', 'b_info', 'c']);
      expect(metricNamesOf('(sum(increase(x_total[10m])) or on () vector(0)) == 0 and nodejs_eventloop_lag_p99_seconds > 0.25'))
        .to.deep.equal(['x_total', 'nodejs_eventloop_lag_p99_seconds']);
      expect(metricNamesOf('{__name__=~"ingest_.*"}')).to.deep.equal(['<__name__ selector>']);
      expect(metricNamesOfVariableQuery('label_values(ingest_queue_depth{state="waiting"}, queue)')).to.deep.equal(['ingest_queue_depth']);
      expect(metricNamesOfVariableQuery('label_values(job)')).to.deep.equal([]);
    });

    it('knows the registry\'s series: DESIGN §9 metrics, histogram parts and process defaults', () => {
      for (const n of ['ingest_queue_depth', 'ingest_stage_duration_seconds_bucket', 'ingest_store_write_seconds_count', 'ingest_stage_jobs_total', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds']) {
        expect(exported.has(n), n).to.equal(true);
      }
      expect(exported.has('ingest_stage_duration_seconds_total')).to.equal(false);
    });
  });

  it('provisions the Prometheus data source and a file provider whose path holds the dashboards', () => {
    const ds = YAML.parse(readFileSync(path.join(GRAFANA, 'datasources', 'prometheus.yml'), 'utf8')) as { datasources: { uid: string; type: string }[] };
    const providers = readdirSync(path.join(GRAFANA, 'dashboards')).filter((f) => /\.ya?ml$/.test(f))
      .flatMap((f) => (YAML.parse(readFileSync(path.join(GRAFANA, 'dashboards', f), 'utf8')) as { providers: { type: string; options: { path: string } }[] }).providers);
    expect(providers).to.have.length.greaterThan(0);
    // docker-compose.yml mounts infra/grafana/provisioning at /etc/grafana/provisioning.
    for (const p of providers) {
      expect(p.type).to.equal('file');
      expect(p.options.path).to.equal('/etc/grafana/provisioning/dashboards/json');
    }
    const dashboards = readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json'));
    expect(dashboards).to.include('graphrag-ingest.json');
    for (const f of dashboards) {
      const d = readJson(path.join(DASHBOARD_DIR, f)) as { uid: string; panels: { datasource?: { uid: string }; targets?: { datasource?: { uid: string } }[] }[] };
      expect(d.uid, f).to.be.a('string');
      const uids = new Set(d.panels.flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]).filter(Boolean));
      expect([...uids], `${f}: every panel uses the provisioned data source`).to.deep.equal([ds.datasources[0]!.uid]);
    }
  });

  it('every dashboard query names only exported metrics, and together they cover the DESIGN §9 set', () => {
    const used = new Set<string>();
    for (const f of readdirSync(DASHBOARD_DIR).filter((x) => x.endsWith('.json'))) {
      const queries = dashboardQueries(readJson(path.join(DASHBOARD_DIR, f)));
      expect(queries.length, f).to.be.greaterThan(10);
      expect(unknownMetrics(queries, exported), f).to.deep.equal([]);
      for (const q of queries) q.names.forEach((n) => { used.add(n); used.add(n.replace(/_(bucket|sum|count)$/, '')); });
    }
    const design = ['ingest_queue_depth', 'ingest_queue_oldest_age_seconds', 'ingest_watchers_count', 'ingest_backpressure_paused', 'ingest_neo4j_cpu',
      'ingest_qdrant_p95_ms', 'ingest_stage_duration_seconds', 'ingest_stage_jobs_total', 'ingest_documents_total', 'ingest_drift_pct',
      'ingest_ready_for_queries', 'ingest_freshness_lag_seconds', 'ingest_store_write_seconds'];
    expect(design.filter((n) => !used.has(n)), 'DESIGN §9 metrics without a panel').to.deep.equal([]);
  });

  it('fails on a planted unknown metric (a panel, a nested row panel, a variable)', () => {
    const d = readJson(path.join(DASHBOARD_DIR, 'graphrag-ingest.json')) as { panels: Record<string, unknown>[]; templating: { list: unknown[] } };
    d.panels.push({ type: 'timeseries', targets: [{ expr: 'sum(rate(ingest_jobs_processed_total[5m]))' }] });
    d.panels.push({ type: 'row', panels: [{ type: 'stat', targets: [{ expr: 'max(ingest_queue_depth) / bullmq_job_count' }] }] });
    d.templating.list.push({ name: 'q', type: 'query', query: { query: 'label_values(pipeline_queue_jobs, queue)' } });
    const bad = unknownMetrics(dashboardQueries(d), exported);
    expect(bad.flatMap((b) => b.unknown).sort()).to.deep.equal(['bullmq_job_count', 'ingest_jobs_processed_total', 'pipeline_queue_jobs']);
  });
});
