import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { IngestMetrics, REPO_ROOT } from '@ingest/shared';
import { promtool } from '../helpers/prometheus.js';
import { exportedSeriesNames, metricNamesOf, unknownMetrics } from '../helpers/promql.js';

const DIR = path.join(REPO_ROOT, 'infra', 'prometheus');

interface Rules { groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[] }

describe('Prometheus config and alert rules (promtool, DESIGN §9)', () => {
  let scratch: string;
  before(async () => { scratch = await mkdtemp(path.join(tmpdir(), 'ingest-promtool-')); });
  after(async () => rm(scratch, { recursive: true, force: true }));

  it('promtool accepts infra/prometheus/prometheus.yml and the alert rules it loads', () => {
    const r = promtool('check', 'config', path.join(DIR, 'prometheus.yml'));
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.match(/SUCCESS: 1 rule files found/);
    const rules = promtool('check', 'rules', path.join(DIR, 'alerts.yml'));
    expect(rules.status, rules.output).to.equal(0);
    expect(rules.output).to.match(/SUCCESS: 7 rules found/);
  });

  it('each alert fires on its planted condition and not on the healthy twin (promtool test rules)', () => {
    const r = promtool('test', 'rules', path.join(DIR, 'tests', 'alerts.test.yml'));
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.match(/SUCCESS/);
  });

  it('covers parked/stuck jobs, drift > 0.5 %, long back-pressure, no progress with a backlog, failure rate', async () => {
    const rules = YAML.parse(await readFile(path.join(DIR, 'alerts.yml'), 'utf8')) as Rules;
    const alerts = Object.fromEntries(rules.groups.flatMap((g) => g.rules).map((r) => [r.alert, r.expr]));
    expect(alerts.IngestChainsParked).to.contain('state="failed"');
    expect(alerts.IngestJobStuck).to.contain('ingest_queue_oldest_age_seconds');
    expect(alerts.IngestDriftHigh).to.match(/ingest_drift_pct.*> 0\.5/);
    expect(alerts.IngestBackpressureEngagedTooLong).to.contain('ingest_backpressure_paused');
    expect(alerts.IngestNoProgressWithBacklog).to.contain('ingest_queue_depth').and.contain('ingest_stage_jobs_total');
    expect(alerts.IngestStageFailureRate).to.contain('outcome="failed"');
  });

  it('alert expressions name only metrics the code exports', async () => {
    const m = new IngestMetrics();
    const exported = await exportedSeriesNames(m.registry);
    await m.close();
    const rules = YAML.parse(await readFile(path.join(DIR, 'alerts.yml'), 'utf8')) as Rules;
    const queries = rules.groups.flatMap((g) => g.rules.map((r) => ({ where: r.alert ?? r.record ?? '?', expr: r.expr, names: metricNamesOf(r.expr) })));
    expect(unknownMetrics(queries, exported)).to.deep.equal([]);
    expect(unknownMetrics([{ where: 'planted', expr: 'ingest_jobs_stuck > 0', names: metricNamesOf('ingest_jobs_stuck > 0') }], exported)).to.have.length(1);
  });

  it('promtool rejects a broken rule and a failing alert expectation (the check is live)', async () => {
    const broken = path.join(scratch, 'broken.yml');
    await writeFile(broken, 'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum by (queue (ingest_queue_depth)\n');
    expect(promtool('check', 'rules', broken).status).to.not.equal(0);

    const planted = (await readFile(path.join(DIR, 'tests', 'alerts.test.yml'), 'utf8'))
      .replace('../alerts.yml', path.join(DIR, 'alerts.yml'))
      .replace("values: '0 0 0.4 0 0.75 0 0 0'", "values: '0 0 0.4 0 0.45 0 0 0'");
    expect(planted).to.contain("'0 0 0.4 0 0.45 0 0 0'").and.not.contain('../alerts.yml');
    const plantedFile = path.join(scratch, 'planted.test.yml');
    await writeFile(plantedFile, planted);
    const r = promtool('test', 'rules', plantedFile);
    expect(r.status, r.output).to.not.equal(0);
    expect(r.output).to.contain('IngestDriftHigh');
  });
});
