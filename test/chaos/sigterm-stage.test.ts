// Chaos (issue 6, reliability.md F3): SIGTERM a compute-stage process while it holds a job, as an
// orchestrator does on a scale-down or a rolling update. The process stops fetching, finishes (or puts
// back) its current job within its shutdown budget and exits; `up` starts a replacement; every document
// ends DONE in the golden state, and the queue records no `stalled` event: nothing was left for the
// stall checker to find (a process that died on the signal would leave its job to it).
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { compareStates, duplicatesOf, NO_DUPLICATES, readState, type TagState } from './golden-state.js';
import { corpus, startChaosSystem, type ChaosSystem } from './system.js';

const DOCS = corpus(30);
const STAGES = ['embed', 'parse'] as const;
/** The stage process's own shutdown budget (stage-process.ts); a clean stop must come well within it. */
const BUDGET_MS = 20_000;

/** Running (not gone, not a zombie its parent has yet to reap). */
const alive = async (pid: number) => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !stat.includes(') Z ');
};

describe('chaos: SIGTERM a stage process holding a job', function () {
  this.timeout(240_000);
  const golden = new Map<string, TagState>();
  let sys: ChaosSystem;

  before(async () => {
    const clean = await startChaosSystem();
    try {
      for (const stage of STAGES) {
        const tag = `term-${stage}`;
        const ids = await Promise.all(DOCS.map((d) => clean.submit(tag, d.name, d.text)));
        expect((await clean.waitAll(ids)).map((s) => s.status)).to.deep.equal(ids.map(() => 'DONE'));
        golden.set(tag, await readState(clean.api, tag));
      }
    } finally {
      await clean.stop();
    }
    sys = await startChaosSystem();
  });
  after(async () => { await sys?.stop(); });

  for (const stage of STAGES) {
    it(`ingest-${stage} gets SIGTERM while active: it drains and exits, a replacement starts, golden state, zero stalled`, async () => {
      const tag = `term-${stage}`;
      const title = `ingest-${stage}`;
      const stalledBefore = await sys.queueEvents(stage, 'stalled');
      const completedBefore = await sys.queueEvents(stage, 'completed');
      const victim = await sys.waitForChild(title);
      const started = Date.now();
      const ids = await Promise.all(DOCS.map((d) => sys.submit(tag, d.name, d.text)));
      // The same confirmation as kill-worker: freeze it while the queue shows an active job, check the job is
      // still active while it cannot finish it, then signal. SIGTERM stays pending until SIGCONT.
      const active = async () => (await sys.api.ok<{ queues: Record<string, { active: number }> }>('GET', '/api/jobs?limit=1')).queues[stage]!.active;
      let signalledAt = 0;
      let heldJobs = 0;
      while (!signalledAt) {
        if (await active() > 0) {
          process.kill(victim, 'SIGSTOP');
          heldJobs = await active();
          if (heldJobs > 0) { process.kill(victim, 'SIGTERM'); signalledAt = Date.now(); }
          process.kill(victim, 'SIGCONT');
        } else await new Promise((r) => setTimeout(r, 5));
        if (!signalledAt && Date.now() - started > 60_000) throw new Error(`${stage} never had an active job`);
      }
      while (await alive(victim)) {
        if (Date.now() - signalledAt > BUDGET_MS + 5000) throw new Error(`${title} pid ${victim} still alive ${BUDGET_MS + 5000} ms after SIGTERM`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const exitedMs = Date.now() - signalledAt;
      const replacement = await sys.waitForChild(title, victim);
      const states = await sys.waitAll(ids);
      const recoveredMs = Date.now() - signalledAt;
      expect(states.filter((s) => s.status !== 'DONE').map((s) => `${s.job_id} ${s.status} ${JSON.stringify(s.error)}`)).to.deep.equal([]);
      const stalled = (await sys.queueEvents(stage, 'stalled')) - stalledBefore;
      const completed = (await sys.queueEvents(stage, 'completed')) - completedBefore;
      expect(stalled, 'jobs left behind for the stall checker').to.equal(0);
      expect(exitedMs, 'exit within the shutdown budget').to.be.below(BUDGET_MS);
      // Every job of the stage ran to completion exactly once (none failed over to a retry).
      expect(completed).to.equal(ids.length);
      const actual = await readState(sys.api, tag);
      expect(compareStates(golden.get(tag)!, actual)).to.deep.equal([]);
      expect(duplicatesOf(actual)).to.deep.equal(NO_DUPLICATES);
      console.log(`      [chaos] ${title} pid ${victim} SIGTERM holding ${heldJobs} job(s) → exited in ${exitedMs} ms, replacement pid ${replacement}; `
        + `stalled 0; all ${ids.length} DONE ${recoveredMs} ms after the signal; ${actual.sections.length} sections, ${actual.relationships.length} edges, ${actual.points.length} points, duplicates 0`);
    });
  }
});
