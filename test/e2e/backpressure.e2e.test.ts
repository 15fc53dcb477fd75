import { expect } from 'chai';
import { ADMISSION_FIELD, backpressureKeys, latencyFaults, type JobState } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { submit, waitForJob } from '../helpers/wait.js';

const SAMPLE_MS = 75;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * DESIGN §6 back-pressure with the real embedded system: vector-store writes slowed by latency injection
 * (`backpressure.injectLatency`, test-only) push the published write p95 over 200 ms; the controller
 * pauses the vector queue within a few samples and resumes it once writes are fast again. Meanwhile the
 * verify queue, paused through Bull Board's own pause route, stays paused throughout.
 */
describe('back-pressure controller (embedded system, latency injection)', function () {
  this.timeout(120_000);
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({
      overrides: { backpressure: { sampleIntervalMs: SAMPLE_MS, latencyWindowMs: 1000, leaderTtlMs: 2000, injectLatency: true, vectorP95MaxMs: 200 } },
    });
  });
  after(async () => {
    latencyFaults.vector = 0;
    await t?.stop();
  });

  const board = (stage: string, action: 'pause' | 'resume') =>
    fetch(`${t.system.url}/ui/api/queues/${stage}/${action}`, { method: 'PUT', headers: { authorization: `Bearer ${t.token}` } });
  const paused = async (stage: string) =>
    (await t.api.ok<{ queues: { queue: string; paused: boolean }[] }>('GET', '/api/queues')).queues.find((q) => q.queue === stage)!.paused;
  const hash = () => t.system.runtime.redis.hgetall(backpressureKeys.state);

  it('slow vector writes pause the vector queue within a few samples; recovery resumes it; the operator-paused queue stays paused', async () => {
    while (!t.system.backpressure?.isLeader) await sleep(10); // the only instance: leader at its first sample
    expect((await board('verify', 'pause')).status).to.be.within(200, 204); // Bull Board's pause button
    expect(await paused('verify')).to.equal(true);

    latencyFaults.vector = 300;
    const jobs: string[] = [];
    for (let i = 0; i < 8; i++) {
      jobs.push((await submit(t.api, `cli://bp/doc-${i}.md`, `# Doc ${i}\n\nSlow vectors number ${i} about replication.\n`)).job_id);
    }
    // Wait for the first slow write's sample, then count samples until the pause.
    const deadline = Date.now() + 30_000;
    while (!(await hash()).vector_p95_ms || Number((await hash()).vector_p95_ms) <= 200) {
      if (Date.now() > deadline) throw new Error('no slow vector write was sampled');
      await sleep(10);
    }
    const slowSeenAt = Date.now();
    while (!(await paused('vector'))) {
      if (Date.now() - slowSeenAt > 20 * SAMPLE_MS) throw new Error('the vector queue was not paused within a few samples');
      await sleep(10);
    }
    expect(Date.now() - slowSeenAt).to.be.below(20 * SAMPLE_MS);
    const h = await hash();
    expect(JSON.parse(h['owned:vector']!).by).to.equal(t.system.backpressure!.id);
    expect(h['owned:verify']).to.equal(undefined);
    expect((await t.system.runtime.metrics.scrape()).body).to.match(/ingest_backpressure_paused\{queue="vector"\} 1/);
    expect(Number((await t.system.runtime.metrics.scrape()).body.match(/^ingest_qdrant_p95_ms (\S+)$/m)![1])).to.be.above(200);
    expect(await paused('verify')).to.equal(true);

    // Recovery: writes are fast again; the window empties, 5 good samples, the controller resumes its pause.
    latencyFaults.vector = 0;
    const recoverBy = Date.now() + 15_000;
    while (await paused('vector')) {
      expect(await paused('verify')).to.equal(true); // never touched by the controller
      if (Date.now() > recoverBy) throw new Error('the vector queue was not resumed after recovery');
      await sleep(20);
    }
    expect((await hash())['owned:vector']).to.equal(undefined);

    // Every chain gets through vector and waits at the operator's verify pause; still paused after many good samples.
    for (;;) {
      const states = await Promise.all(jobs.map((id) => t.api.ok<JobState>('GET', `/api/jobs/${id}`)));
      const counts = (await t.api.ok<{ queues: { queue: string; counts: Record<string, number> }[] }>('GET', '/api/queues')).queues.find((q) => q.queue === 'vector')!.counts;
      if ((counts.waiting ?? 0) + (counts.active ?? 0) === 0 && states.every((s) => s.status !== 'FAILED')) break;
      await sleep(50);
    }
    await sleep(10 * SAMPLE_MS);
    expect(await paused('verify')).to.equal(true);
    expect((await t.system.runtime.metrics.scrape()).body).to.match(/ingest_backpressure_paused\{queue="vector"\} 0/);

    // The operator resumes; every document finishes.
    expect((await board('verify', 'resume')).status).to.be.within(200, 204);
    for (const id of jobs) expect((await waitForJob(t.api, id)).status).to.equal('DONE');
  });

  it('while admission is stopped the API answers 429 BACKPRESSURE', async () => {
    await t.system.backpressure!.close(); // hold the flag still: no controller clears it
    await t.system.runtime.redis.hset(backpressureKeys.state, ADMISSION_FIELD, '1');
    const r = await t.api.request<{ code: string }>('POST', '/api/documents?source_uri=cli://bp/refused.md&tag=e2e', undefined, Buffer.from('# Refused\n'));
    expect(r.status).to.equal(429);
    expect(r.body.code).to.equal('BACKPRESSURE');
    await t.system.runtime.redis.hdel(backpressureKeys.state, ADMISSION_FIELD);
  });
});

describe('back-pressure admission gate in the spool watcher', function () {
  this.timeout(60_000);
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ watch: true, overrides: { backpressure: { enabled: false, sampleIntervalMs: 50 } } });
  });
  after(async () => t?.stop());

  it('a new spool file waits while admission is stopped and is admitted once it resumes', async () => {
    const { writeFile, mkdir } = await import('node:fs/promises');
    await t.system.runtime.redis.hset(backpressureKeys.state, ADMISSION_FIELD, '1');
    await mkdir(t.watchDir, { recursive: true });
    await writeFile(`${t.watchDir}/held.md`, '# Held\n\nWaits in the spool.\n');
    await sleep(600);
    expect((await t.api.ok<{ jobs: JobState[] }>('GET', '/api/jobs')).jobs).to.have.length(0);
    await t.system.runtime.redis.hdel(backpressureKeys.state, ADMISSION_FIELD);
    for (;;) {
      const [job] = (await t.api.ok<{ jobs: JobState[] }>('GET', '/api/jobs')).jobs;
      if (job) { expect((await waitForJob(t.api, job.job_id)).status).to.equal('DONE'); break; }
      await sleep(20);
    }
  });
});
