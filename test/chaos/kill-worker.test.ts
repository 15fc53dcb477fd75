// Chaos (issue 6, catalogue F1/F2): kill -9 a compute-stage process while it holds a job during a
// 30-document ingest. Another process (the restarted child) completes the chain; the stores equal the
// golden state of a clean run of the same documents; no section or point is stored twice.
import { expect } from 'chai';
import { compareStates, duplicatesOf, NO_DUPLICATES, readState, type TagState } from './golden-state.js';
import { corpus, startChaosSystem, type ChaosSystem } from './system.js';

const DOCS = corpus(30);
const STAGES = ['embed', 'parse', 'extract'] as const;

describe('chaos: kill -9 a stage process holding a job', function () {
  this.timeout(240_000);
  const golden = new Map<string, TagState>();
  let sys: ChaosSystem;

  before(async () => {
    // The clean run: same documents, same tags (ids derive from tag + source URI), no faults.
    const clean = await startChaosSystem();
    try {
      for (const stage of [...STAGES, 'redis']) {
        const tag = `kill-${stage}`;
        const ids = await Promise.all(DOCS.map((d) => clean.submit(tag, d.name, d.text)));
        const states = await clean.waitAll(ids);
        expect(states.map((s) => s.status)).to.deep.equal(ids.map(() => 'DONE'));
        golden.set(tag, await readState(clean.api, tag));
      }
    } finally {
      await clean.stop();
    }
    sys = await startChaosSystem();
  });
  after(async () => { await sys?.stop(); });

  for (const stage of STAGES) {
    it(`ingest-${stage} killed while active: every document DONE, golden state, no duplicates`, async () => {
      const tag = `kill-${stage}`;
      const title = `ingest-${stage}`;
      const stalledBefore = await sys.queueEvents(stage, 'stalled');
      const victim = await sys.waitForChild(title);
      const started = Date.now();
      const ids = await Promise.all(DOCS.map((d) => sys.submit(tag, d.name, d.text)));
      // Kill while it holds a job: freeze it (SIGSTOP) when the stage queue shows an active job, confirm the
      // job is still active while it cannot finish it (it is the only process of that stage), then SIGKILL;
      // otherwise let it go on (SIGCONT) and try again.
      const active = async () => (await sys.api.ok<{ queues: Record<string, { active: number }> }>('GET', '/api/jobs?limit=1')).queues[stage]!.active;
      let killedAt = 0;
      while (!killedAt) {
        if (await active() > 0) {
          process.kill(victim, 'SIGSTOP');
          if (await active() > 0) { process.kill(victim, 'SIGKILL'); killedAt = Date.now(); }
          else process.kill(victim, 'SIGCONT');
        } else await new Promise((r) => setTimeout(r, 5));
        if (!killedAt && Date.now() - started > 60_000) throw new Error(`${stage} never had an active job`);
      }
      const replacement = await sys.waitForChild(title, victim);
      const restartedMs = Date.now() - killedAt;
      const states = await sys.waitAll(ids);
      const recoveredMs = Date.now() - killedAt;
      const stalled = (await sys.queueEvents(stage, 'stalled')) - stalledBefore;
      const notDone = states.filter((s) => s.status !== 'DONE').map((s) => `${s.job_id} ${s.status} ${JSON.stringify(s.error)}`);
      expect(notDone).to.deep.equal([]);
      const actual = await readState(sys.api, tag);
      expect(compareStates(golden.get(tag)!, actual)).to.deep.equal([]);
      const dup = duplicatesOf(actual);
      expect(dup).to.deep.equal(NO_DUPLICATES);
      expect(stalled, 'the killed process held at least one job that was recovered as stalled').to.be.greaterThan(0);
      console.log(`      [chaos] ${title} pid ${victim} killed → pid ${replacement} in ${restartedMs} ms; ${stalled} job(s) recovered as stalled; `
        + `all ${ids.length} DONE ${recoveredMs} ms after the kill; ${actual.sections.length} sections, ${actual.points.length} points, duplicates 0`);
    });
  }

  it('redis-server (AOF everysec) killed mid-run: up restarts it from its AOF, workers reconnect, every document DONE, golden state', async () => {
    const tag = 'kill-redis';
    const computeBefore = await sys.children();
    const victim = await sys.redisPid();
    const ids = await Promise.all(DOCS.map((d) => sys.submit(tag, d.name, d.text)));
    // Mid-run: some documents done, others still in the stages.
    let inFlight = 0;
    for (;;) {
      const { jobs } = await sys.api.ok<{ jobs: { status: string }[] }>('POST', '/api/jobs/batch', { ids });
      inFlight = jobs.filter((j) => j.status !== 'DONE').length;
      if (jobs.some((j) => j.status === 'DONE')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(inFlight, 'documents still in the stages when Redis dies').to.be.greaterThan(0);
    process.kill(victim, 'SIGKILL');
    const killedAt = Date.now();
    const replacement = await sys.redisPid(victim);
    const restartedMs = Date.now() - killedAt;
    const states = await sys.waitAll(ids);
    const recoveredMs = Date.now() - killedAt;
    expect(states.filter((s) => s.status !== 'DONE').map((s) => `${s.job_id} ${s.status} ${JSON.stringify(s.error)}`)).to.deep.equal([]);
    const actual = await readState(sys.api, tag);
    expect(compareStates(golden.get(tag)!, actual)).to.deep.equal([]);
    expect(duplicatesOf(actual)).to.deep.equal(NO_DUPLICATES);
    // The compute processes reconnected on their own: none was restarted.
    const computeAfter = await sys.children();
    for (const t of ['ingest-parse', 'ingest-extract', 'ingest-embed']) expect(computeAfter.get(t), t).to.equal(computeBefore.get(t));
    console.log(`      [chaos] redis-server pid ${victim} killed with ${inFlight} documents in flight → pid ${replacement} answering in ${restartedMs} ms; all ${ids.length} DONE ${recoveredMs} ms after the kill; `
      + `compute processes not restarted; ${actual.sections.length} sections, ${actual.points.length} points, duplicates 0`);
  });
});
