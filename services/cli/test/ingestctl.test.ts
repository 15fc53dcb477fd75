import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import { artifactKeys, REPO_ROOT, type JobState } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../../../test/helpers/system.js';
import { submit, waitForJob } from '../../../test/helpers/wait.js';

const run = promisify(execFile);
const schemaDir = path.join(REPO_ROOT, 'config/schema');

async function validator(file: string) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(await readFile(path.join(schemaDir, file), 'utf8')) as object);
}

/** Runs the real launcher (scripts/ingestctl) as a user would, against the test system's API. */
async function ingestctl(t: TestSystem, args: string[], cwd = t.dir): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(path.join(REPO_ROOT, 'scripts/ingestctl'), [...args, '--url', t.system.url, '--token', t.token], { cwd, env: { ...process.env, INGEST_URL: '', INGEST_DASHBOARD_TOKEN: '' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('ingestctl (the DESIGN §10 contract, through scripts/ingestctl)', function () {
  this.timeout(120_000);
  let t: TestSystem;
  let docs: string;
  let jobIds: string[] = [];

  before(async () => {
    t = await startTestSystem();
    docs = path.join(t.dir, 'docs');
    await mkdir(docs, { recursive: true });
    await writeFile(path.join(docs, 'aof.md'), '# Append only file\n\nThe AOF logs every write operation received by the server.\n\n## Rewrite\n\nBGREWRITEAOF compacts the log.\n');
    await writeFile(path.join(docs, 'rdb.md'), '# Snapshots\n\nRDB files are point-in-time snapshots of the dataset.\n');
  });
  after(async () => t?.stop());

  it('ingest --wait --json prints the run shape, every job DONE, and exits 0', async () => {
    const r = await ingestctl(t, ['ingest', 'docs/aof.md', 'docs/rdb.md', '--tag', 'cli', '--wait', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { jobs: { job_id: string; status: string; source_uri: string; report_path: string }[]; summary: { by_status: Record<string, number>; tag_ready: boolean } };
    const validate = await validator('cli/ingest.json');
    expect(validate(out), JSON.stringify(validate.errors)).to.equal(true);
    expect(out.jobs.map((j) => j.status)).to.deep.equal(['DONE', 'DONE']);
    expect(out.jobs.map((j) => j.source_uri).sort()).to.deep.equal(['cli://cli/docs/aof.md', 'cli://cli/docs/rdb.md']);
    expect(out.summary).to.deep.include({ tag_ready: true });
    for (const j of out.jobs) expect(j.report_path).to.match(/ingest_report\.json$/);
    jobIds = out.jobs.map((j) => j.job_id);
  });

  it('a second ingest reports every job SKIPPED and still exits 0', async () => {
    const r = await ingestctl(t, ['ingest', 'docs', '--tag', 'cli', '--wait', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { jobs: { status: string }[]; summary: { by_status: Record<string, number> } };
    expect(out.summary.by_status).to.deep.equal({ SKIPPED: 2 });
  });

  it('query --json answers with evidence from the right document and a confidence', async () => {
    const r = await ingestctl(t, ['query', 'append only file write log', '--tag', 'cli', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { evidence: { source_uri: string }[]; confidence: number };
    const validate = await validator('cli/query.json');
    expect(validate(out), JSON.stringify(validate.errors)).to.equal(true);
    expect(out.evidence[0]?.source_uri).to.equal('cli://cli/docs/aof.md');
    expect(out.confidence).to.be.greaterThan(0);
  });

  it('status and report print their shapes', async () => {
    const s = await ingestctl(t, ['status', jobIds[0]!, '--json']);
    expect(s.code, s.stderr).to.equal(0);
    const vs = await validator('cli/status-job.json');
    expect(vs(JSON.parse(s.stdout)), JSON.stringify(vs.errors)).to.equal(true);
    const list = await ingestctl(t, ['status', '--json']);
    const vl = await validator('cli/status-list.json');
    expect(vl(JSON.parse(list.stdout)), JSON.stringify(vl.errors)).to.equal(true);
    const rep = await ingestctl(t, ['report', jobIds[0]!, '--json']);
    const vr = await validator('ingest_report.schema.json');
    const report = JSON.parse(rep.stdout) as { ready_for_queries: boolean };
    expect(vr(report), JSON.stringify(vr.errors)).to.equal(true);
    expect(report.ready_for_queries).to.equal(true);
    const tail = await ingestctl(t, ['tail', jobIds[0]!, '--json']);
    expect(tail.code, tail.stderr).to.equal(0);
    const vt = await validator('cli/tail.json');
    const lines = tail.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of lines) expect(vt(l), JSON.stringify(vt.errors)).to.equal(true);
    expect(lines.map((l) => l.stage).filter(Boolean)).to.include.members(['parse', 'extract', 'embed', 'graph', 'vector', 'verify']);
    expect(lines.at(-1)).to.deep.include({ status: 'DONE' });
    const md = await ingestctl(t, ['report', jobIds[0]!, '--format', 'md']);
    expect(md.stdout).to.match(/^# Ingest report/);
  });

  it('plan, verify, queues, cancel and retry print their shapes and exit codes', async () => {
    await writeFile(path.join(docs, 'new.md'), '# New\n\nNot ingested yet.\n');
    const plan = await ingestctl(t, ['plan', 'docs', '--tag', 'cli', '--json']);
    expect(plan.code, plan.stderr).to.equal(0);
    const p = JSON.parse(plan.stdout) as { add: string[]; unchanged: string[] };
    const vp = await validator('cli/plan.json');
    expect(vp(p), JSON.stringify(vp.errors)).to.equal(true);
    expect(p.add).to.deep.equal(['cli://cli/docs/new.md']);
    expect(p.unchanged).to.have.length(2);

    const verify = await ingestctl(t, ['verify', '--tag', 'cli', '--json']);
    expect(verify.code, verify.stderr).to.equal(0);
    const vv = await validator('cli/verify.json');
    expect(vv(JSON.parse(verify.stdout)), JSON.stringify(vv.errors)).to.equal(true);
    const rec = await ingestctl(t, ['reconcile', '--tag', 'cli', '--json']);
    expect(rec.code, rec.stderr).to.equal(0);
    const vrec = await validator('cli/reconcile.json');
    expect(vrec(JSON.parse(rec.stdout)), JSON.stringify(vrec.errors)).to.equal(true);
    const notReady = await ingestctl(t, ['verify', '--tag', 'nothing-here', '--json']);
    expect(notReady.code).to.equal(1);

    const queues = await ingestctl(t, ['queues', 'pause', 'embed', '--json']);
    expect(JSON.parse(queues.stdout)).to.deep.equal({ queue: 'embed', paused: true });
    const list = await ingestctl(t, ['queues', '--json']);
    const vq = await validator('cli/queues.json');
    const listed = JSON.parse(list.stdout) as { queues: { queue: string; paused: boolean }[] };
    expect(vq(listed), JSON.stringify(vq.errors)).to.equal(true);
    expect(listed.queues.find((q) => q.queue === 'embed')?.paused).to.equal(true);
    await ingestctl(t, ['queues', 'resume', 'embed']);

    const vc = await validator('cli/control.json');
    const late = await ingestctl(t, ['cancel', jobIds[0]!, '--json']);
    expect(late.code).to.equal(1);
    expect(vc(JSON.parse(late.stdout)), JSON.stringify(vc.errors)).to.equal(true);
    const retry = await ingestctl(t, ['retry', jobIds[0]!, '--json']);
    expect(retry.code).to.equal(1);
    expect(JSON.parse(retry.stdout)).to.deep.include({ ok: false, code: 'NOT_FAILED' });
  });

  it('delete --json tombstones the document', async () => {
    const r = await ingestctl(t, ['delete', 'cli://cli/docs/rdb.md', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { jobs: { status: string }[] };
    const v = await validator('cli/delete.json');
    expect(v(out), JSON.stringify(v.errors)).to.equal(true);
    expect(out.jobs).to.have.length(1);
  });

  it('status --failed lists dead letters (stage, code, attempts, first/last seen); retry clears them on DONE', async () => {
    // A chain that fails for good at extract: its parse output vanishes while extract is paused.
    await t.api.ok('POST', '/api/queues/extract/pause');
    const r = await submit(t.api, 'cli://cli/dead-letter.md', '# Dead letter\n\nFails at extract once.\n', 'cli');
    const waiting = async () => (await t.api.ok<{ queues: { queue: string; counts: Record<string, number> }[] }>('GET', '/api/queues')).queues.find((q) => q.queue === 'extract')!.counts.waiting;
    for (const deadline = Date.now() + 30_000; (await waiting()) !== 1 && Date.now() < deadline;) await new Promise((res) => setTimeout(res, 20));
    const key = artifactKeys.parsed(r.job_id);
    const artifacts = t.system.runtime.pipeline.artifacts;
    const parsed = (await artifacts.get(key))!;
    await t.system.runtime.redis.del(`ingest:artifact:${key}`);
    await t.api.ok('POST', '/api/queues/extract/resume');
    expect((await waitForJob(t.api, r.job_id)).status).to.equal('FAILED');

    const list = await ingestctl(t, ['status', '--failed', '--json']);
    expect(list.code, list.stderr).to.equal(0);
    const out = JSON.parse(list.stdout) as { jobs: JobState[] };
    const vl = await validator('cli/status-list.json');
    expect(vl(out), JSON.stringify(vl.errors)).to.equal(true);
    const dead = out.jobs.find((j) => j.job_id === r.job_id)!;
    expect(dead).to.deep.include({ status: 'FAILED', failed_stage: 'extract', attempts: 1 });
    expect(dead.error?.code).to.equal('MISSING_ARTIFACT');
    expect(Date.parse(dead.first_seen!)).to.be.at.most(Date.parse(dead.last_seen!));
    const table = await ingestctl(t, ['status', '--failed']);
    expect(table.stdout.split('\n')[0]).to.match(/^job\s+source\s+stage\s+code\s+attempts\s+first seen\s+last seen$/);
    expect(table.stdout).to.match(new RegExp(`${r.job_id}\\s+cli://cli/dead-letter\\.md\\s+extract\\s+MISSING_ARTIFACT\\s+1\\s+${dead.first_seen}\\s+${dead.last_seen}`));

    await artifacts.put(key, parsed); // the cause is fixed: retry resumes at extract and ends DONE, the dead letter cleared
    const retry = await ingestctl(t, ['retry', r.job_id, '--json']);
    expect(retry.code, retry.stderr).to.equal(0);
    expect((await waitForJob(t.api, r.job_id)).status).to.equal('DONE');
    const done = JSON.parse((await ingestctl(t, ['status', r.job_id, '--json'])).stdout) as JobState;
    const vs = await validator('cli/status-job.json');
    expect(vs(done), JSON.stringify(vs.errors)).to.equal(true);
    expect(done).to.deep.include({ error: null, failed_stage: null, attempts: null, first_seen: null, last_seen: null, reason: 'retried from extract' });
    const after = await t.api.ok<{ jobs: JobState[] }>('GET', '/api/jobs?failed=true');
    expect(after.jobs.map((j) => j.job_id)).to.not.include(r.job_id);
  });

  it('usage errors exit 2 with {code, message}; an unknown job exits 1', async () => {
    const bad = await ingestctl(t, ['frobnicate', '--json']);
    expect(bad.code).to.equal(2);
    const v = await validator('cli/error.json');
    expect(v(JSON.parse(bad.stdout)), JSON.stringify(v.errors)).to.equal(true);
    const missing = await ingestctl(t, ['status', 'nope', '--json']);
    expect(missing.code).to.equal(1);
    expect(JSON.parse(missing.stdout)).to.have.property('code', 'NOT_FOUND');
  });

  it('a wrong token is a connection error (exit 2)', async () => {
    const r = await run(path.join(REPO_ROOT, 'scripts/ingestctl'), ['status', '--json', '--url', t.system.url, '--token', 'wrong']).catch((e: { code: number; stdout: string }) => e);
    expect((r as { code: number }).code).to.equal(2);
    expect(JSON.parse((r as { stdout: string }).stdout)).to.have.property('code', 'UNAUTHORIZED');
  });
});
