import { expect } from 'chai';
import { artifactKeys, documentId, type JobState } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { submit, waitForJob } from '../helpers/wait.js';

async function waitStatus(t: TestSystem, jobId: string, status: string): Promise<JobState> {
  for (;;) {
    const s = await t.api.ok<JobState>('GET', `/api/jobs/${jobId}`);
    if (s.status === status) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('operator control: queues, cancel, retry', function () {
  this.timeout(120_000);
  let t: TestSystem;
  before(async () => { t = await startTestSystem(); });
  after(async () => t?.stop());

  const pause = (stage: string) => t.api.ok('POST', `/api/queues/${stage}/pause`);
  const resume = (stage: string) => t.api.ok('POST', `/api/queues/${stage}/resume`);
  const counts = async (stage: string) => (await t.api.ok<{ queues: { queue: string; paused: boolean; counts: Record<string, number> }[] }>('GET', '/api/queues')).queues.find((q) => q.queue === stage)!;

  it('a paused queue holds new work before its stage; resuming lets it finish', async () => {
    await pause('embed');
    expect((await counts('embed')).paused).to.equal(true);
    const r = await submit(t.api, 'cli://c/held.md', '# Held\n\nWaits before embedding.\n');
    await waitStatus(t, r.job_id, 'EXTRACTING').catch(() => undefined);
    for (;;) { if ((await counts('embed')).counts.waiting === 1) break; await new Promise((res) => setTimeout(res, 20)); }
    expect((await t.api.ok<JobState>('GET', `/api/jobs/${r.job_id}`)).status).to.not.equal('DONE');
    await resume('embed');
    expect((await waitForJob(t.api, r.job_id)).status).to.equal('DONE');
  });

  it('cancel before the graph stage ends CANCELLED, removes the chain and leaves the stores untouched', async () => {
    await pause('graph');
    const uri = 'cli://c/cancel.md';
    const r = await submit(t.api, uri, '# Cancel me\n\nNever stored.\n');
    for (;;) { if ((await counts('graph')).counts.waiting === 1) break; await new Promise((res) => setTimeout(res, 20)); }
    const c = await t.api.request<{ ok: boolean; status: string }>('POST', `/api/jobs/${r.job_id}/cancel`);
    expect(c.body).to.deep.include({ ok: true, status: 'CANCELLED' });
    await resume('graph');
    const st = await t.api.ok<JobState>('GET', `/api/jobs/${r.job_id}`);
    expect(st.status).to.equal('CANCELLED');
    expect((await counts('graph')).counts.waiting).to.equal(0);
    expect((await counts('verify')).counts['waiting-children']).to.equal(0);
    expect(await t.system.runtime.graph.getDocument(documentId('e2e', uri))).to.equal(null);
    expect(await t.system.runtime.vectors.count(documentId('e2e', uri))).to.equal(0);
    // The document can be ingested again afterwards: the ledger released it.
    const again = await submit(t.api, uri, '# Cancel me\n\nNever stored.\n');
    expect((await waitForJob(t.api, again.job_id)).status).to.equal('DONE');
  });

  it('cancel reaches a job active in a stage through its AbortSignal', async () => {
    const big = Array.from({ length: 3000 }, (_, i) => `## Part ${i}\n\n${'Words about persistence and replication with code spans. '.repeat(40)}\n`).join('\n');
    const r = await submit(t.api, 'cli://c/active.md', `# Active\n\n${big}`);
    await waitStatus(t, r.job_id, 'PARSING');
    const c = await t.api.request<{ ok: boolean; status: string }>('POST', `/api/jobs/${r.job_id}/cancel`);
    expect(c.body).to.deep.include({ ok: true, status: 'CANCELLED' });
    expect((await t.api.ok<JobState>('GET', `/api/jobs/${r.job_id}`)).error?.code).to.equal('CANCELLED');
    expect(await t.system.runtime.graph.getDocument(documentId('e2e', 'cli://c/active.md'))).to.equal(null);
  });

  it('cancel after the version committed answers TOO_LATE or NOT_CANCELLABLE (exit code 1 in the CLI)', async () => {
    const r = await submit(t.api, 'cli://c/late.md', '# Late\n\nAlready stored.\n');
    await waitForJob(t.api, r.job_id);
    const c = await t.api.request<{ ok: boolean; code: string }>('POST', `/api/jobs/${r.job_id}/cancel`);
    expect(c.status).to.equal(409);
    expect(c.body).to.deep.include({ ok: false, code: 'NOT_CANCELLABLE' });
  });

  it('retry resumes a failed chain from the stage that failed, without re-running the earlier ones', async () => {
    await pause('extract');
    const r = await submit(t.api, 'cli://c/retry.md', '# Retry\n\nFails at extract once.\n');
    for (;;) { if ((await counts('extract')).counts.waiting === 1) break; await new Promise((res) => setTimeout(res, 20)); }
    const key = artifactKeys.parsed(r.job_id);
    const artifacts = t.system.runtime.pipeline.artifacts;
    const parsed = (await artifacts.get(key))!;
    await t.system.runtime.redis.del(`ingest:artifact:${key}`); // the parse output vanishes: extract fails for good
    await resume('extract');
    const failed = await waitForJob(t.api, r.job_id);
    expect(failed.status).to.equal('FAILED');
    expect(failed.error?.code).to.equal('MISSING_ARTIFACT');
    const parseMs = failed.timings_ms.parse;

    await artifacts.put(key, parsed); // the cause is fixed
    const rr = await t.api.request<{ ok: boolean; status: string }>('POST', `/api/jobs/${r.job_id}/retry`);
    expect(rr.body).to.deep.include({ ok: true, status: 'PENDING' });
    const done = await waitForJob(t.api, r.job_id);
    expect(done.status).to.equal('DONE');
    expect(done.timings_ms.parse).to.equal(parseMs); // parse did not run again
    expect(done.error).to.equal(null);
  });
});
