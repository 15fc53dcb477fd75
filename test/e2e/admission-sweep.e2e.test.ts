import { expect } from 'chai';
import { artifactKeys, documentId, inspectSubmission, type JobState } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { submit, waitForJob } from '../helpers/wait.js';

const LEASE_MS = 300;

/**
 * Issue 6 "nothing lost": a submitter killed between the ledger step and its flow (simulated by running
 * only `ledger.admit`, as the ledger lease test does) is settled by the janitor's admission sweep — on its
 * own timer, plus explicit concurrent sweeps here to show two janitors are harmless.
 */
describe('admission sweep: admissions whose submitter died before the flow (real Redis, real Pipeline)', function () {
  this.timeout(60_000);
  let t: TestSystem;
  before(async () => { t = await startTestSystem({ overrides: { admission: { leaseMs: LEASE_MS } } }); });
  after(async () => t?.stop());

  const rt = () => t.system.runtime;
  const job = (id: string) => t.api.ok<JobState>('GET', `/api/jobs/${id}`);
  /** The ledger step alone: what a submitter killed -9 right after the compare-and-set leaves behind. */
  const deadAdmission = (uri: string, checksum: string, leaseMs = LEASE_MS) => rt().pipeline.ledger.admit({
    documentId: documentId('e2e', uri), checksum, pipelineVersion: rt().pipeline.pipelineVersion, force: false, op: 'ingest', tag: 'e2e', sourceUri: uri, leaseMs,
  });
  const twoSweeps = async () => (await Promise.all([rt().pipeline.sweepStuckAdmissions(), rt().pipeline.sweepStuckAdmissions()])).flat();
  const waitFor = async <T>(what: string, f: () => Promise<T | null>): Promise<T> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const v = await f();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it('a changed version parked behind a dead admission is admitted after the sweep and ends DONE', async () => {
    const uri = 'cli://sweep/changed.md';
    const d = documentId('e2e', uri);
    expect(await deadAdmission(uri, 'never-stored')).to.deep.equal({ action: 'start', jobId: `${d}-g1` });
    const v2 = await submit(t.api, uri, '# Changed\n\nThe second version of the file.\n');
    expect(v2.job_id).to.equal(`${d}-g2`);
    expect(await rt().pipeline.ledger.get(d)).to.deep.include({ inFlight: `${d}-g1`, pendingJob: `${d}-g2` });
    await new Promise((r) => setTimeout(r, LEASE_MS + 50));
    const swept = await twoSweeps();
    // The janitor's own timer may have settled it first; between all sweeps it is settled exactly once.
    expect(swept.filter((o) => o.jobId === `${d}-g1`).length).to.be.at.most(1);
    expect((await waitForJob(t.api, v2.job_id)).status).to.equal('DONE');
    const dead = await job(`${d}-g1`);
    expect(dead).to.deep.include({ status: 'FAILED' });
    expect(dead.error?.code).to.equal('ADMISSION_INTERRUPTED');
    expect(await rt().pipeline.ledger.get(d)).to.deep.include({ inFlight: null, pendingJob: null, generation: 2, completedGeneration: 2, status: 'DONE' });
    expect((await rt().graph.getDocument(d))?.generation).to.equal(2);
    expect(await rt().redis.zscore('ingest:admitting', d)).to.equal(null);
    // Retrying a version that never had a chain is refused instead of putting it back in flight.
    const retry = await t.api.request<{ code: string }>('POST', `/api/jobs/${d}-g1/retry`);
    expect(retry.body.code).to.equal('NOTHING_TO_RETRY');
  });

  it('nothing resubmits and the bytes were never stored: left alone for a few leases, then FAILED ADMISSION_INTERRUPTED, the generation is not reused', async () => {
    const uri = 'cli://sweep/lost.md';
    const d = documentId('e2e', uri);
    await deadAdmission(uri, 'lost-bytes');
    // Just past the lease it is left for its submitter to come back (a restarting watcher resumes it as g1).
    await new Promise((r) => setTimeout(r, LEASE_MS + 50));
    const early = await rt().pipeline.sweepStuckAdmissions();
    expect(early.map((o) => o.jobId), 'settled before the grace of several leases').to.not.include(`${d}-g1`);
    expect((await rt().pipeline.ledger.get(d))?.inFlight).to.equal(`${d}-g1`);
    const failed = await waitFor('the sweep', async () => {
      await rt().pipeline.sweepStuckAdmissions();
      const s = await rt().pipeline.state.get(`${d}-g1`);
      return s?.status === 'FAILED' ? s : null;
    });
    expect(failed.error?.code).to.equal('ADMISSION_INTERRUPTED');
    expect(await rt().pipeline.ledger.get(d)).to.deep.include({ inFlight: null, generation: 1, completedGeneration: null, status: 'FAILED' });
    const again = await submit(t.api, uri, '# Lost\n\nSubmitted again later.\n');
    expect(again.job_id).to.equal(`${d}-g2`);
    expect((await waitForJob(t.api, again.job_id)).status).to.equal('DONE');
  });

  it('nothing resubmits but the source artifact is stored: the admission is finished under the same job id and ends DONE', async () => {
    const uri = 'cli://sweep/kept.md';
    const d = documentId('e2e', uri);
    const text = '# Kept\n\nThe submitter died after storing the bytes.\n';
    const ins = inspectSubmission(Buffer.from(text), t.config.admission);
    if (!ins.ok) throw new Error('fixture refused');
    await deadAdmission(uri, ins.checksum);
    await rt().pipeline.artifacts.put(artifactKeys.source(`${d}-g1`), Buffer.from(ins.text)); // died here: no state, no flow
    await new Promise((r) => setTimeout(r, LEASE_MS + 50));
    await twoSweeps();
    const st = await waitFor('the job state', () => rt().pipeline.state.get(`${d}-g1`));
    expect(st.op).to.equal('ingest');
    expect((await waitForJob(t.api, `${d}-g1`)).status).to.equal('DONE');
    expect(await rt().pipeline.ledger.get(d)).to.deep.include({ inFlight: null, generation: 1, completedGeneration: 1, completedChecksum: ins.checksum });
    expect(await rt().graph.getDocument(d)).to.not.equal(null);
  });

  it('a live admission inside its lease is left alone by every sweep', async () => {
    const uri = 'cli://sweep/live.md';
    const d = documentId('e2e', uri);
    await deadAdmission(uri, 'live', 60_000);
    const before = await rt().redis.hgetall(`ingest:ledger:${d}`);
    await new Promise((r) => setTimeout(r, LEASE_MS + 50)); // past the configured lease, inside this admitter's own
    expect((await twoSweeps()).filter((o) => o.jobId === `${d}-g1`)).to.deep.equal([]);
    expect(await rt().redis.hgetall(`ingest:ledger:${d}`)).to.deep.equal(before);
    expect(await rt().pipeline.state.get(`${d}-g1`)).to.equal(null);
    const queued = await rt().redis.exists(`${t.config.queue.prefix}:verify:${d}-g1`);
    expect(queued).to.equal(0);
  });
});
