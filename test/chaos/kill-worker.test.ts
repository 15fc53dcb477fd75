// Chaos (issue 6, catalogue F1/F2): kill -9 a compute-stage process while it holds a job during a
// 30-document ingest. Another process (the restarted child) completes the chain; the stores equal the
// golden state of a clean run of the same documents; no section or point is stored twice.
import { expect } from 'chai';
import { compareStates, duplicatesOf, readState, type TagState } from './golden-state.js';
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
      for (const stage of STAGES) {
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
      // Kill the moment the stage queue has an active job (held by the only process of that stage).
      let killedAt = 0;
      while (!killedAt) {
        const { queues } = await sys.api.ok<{ queues: Record<string, { active: number }> }>('GET', '/api/jobs?limit=1');
        if (queues[stage]!.active > 0) { process.kill(victim, 'SIGKILL'); killedAt = Date.now(); }
        else await new Promise((r) => setTimeout(r, 5));
        if (Date.now() - started > 60_000) throw new Error(`${stage} never had an active job`);
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
      expect(dup).to.deep.equal({ documents: [], sections: [], points: [] });
      expect(stalled, 'the killed process held at least one job that was recovered as stalled').to.be.greaterThan(0);
      console.log(`      [chaos] ${title} pid ${victim} killed → pid ${replacement} in ${restartedMs} ms; ${stalled} job(s) recovered as stalled; `
        + `all ${ids.length} DONE ${recoveredMs} ms after the kill; ${actual.sections.length} sections, ${actual.points.length} points, duplicates 0`);
    });
  }
});
