// Chaos (issue 6, catalogue F11/F12/F14 for the embedded stores; DESIGN §6 back-pressure): LanceDB and
// LadybugDB run in the `up` process, with no wire for a proxy, so their writes are slowed and failed through
// the test-only decorator of INGEST_TEST_STORE_FAULTS (shared/src/runtime/test-store-faults.ts). With
// back-pressure on and sampling every 200 ms, slow vector writes make the controller pause the vector
// queue; once the fault is cleared it resumes it. Failed writes are retried; no FAILED, golden state.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { backpressureKeys } from '@ingest/shared';
import { compareStates, duplicatesOf, readState, type TagState } from './golden-state.js';
import { CHAOS_CONFIG, corpus, startChaosSystem, type ChaosSystem } from './system.js';

const DOCS = corpus(30);
const TAG = 'fault-stores';
const DELAY_MS = 700;
const P95_MAX_MS = 300;
const BACKPRESSURE = `backpressure:
  enabled: true
  sampleIntervalMs: 200
  leaderTtlMs: 2000
  badSamples: 3
  goodSamples: 5
  vectorP95MaxMs: ${P95_MAX_MS}
  graphWriteP95BudgetMs: 60000
  latencyWindowMs: 1500
`;
const CONFIG = CHAOS_CONFIG.replace(/^backpressure:\n {2}enabled: false\n/m, BACKPRESSURE);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos: in-process stores slow and failing (test-only fault decorator), back-pressure on', function () {
  this.timeout(180_000);
  let golden: TagState;
  let sys: ChaosSystem | undefined;
  let redis: Redis | undefined;
  let faultsFile: string;

  before(async () => {
    expect(CONFIG).to.include('sampleIntervalMs: 200');
    const clean = await startChaosSystem();
    try {
      const ids = await Promise.all(DOCS.map((d) => clean.submit(TAG, d.name, d.text)));
      expect((await clean.waitAll(ids)).map((s) => s.status)).to.deep.equal(ids.map(() => 'DONE'));
      golden = await readState(clean.api, TAG);
    } finally {
      await clean.stop();
    }
    // Beside the (removed) clean run's temp dir: a fresh name of our own.
    faultsFile = path.join(path.dirname(clean.dir), `${path.basename(clean.dir)}-faults.json`);
    await writeFile(faultsFile, '{}');
    sys = await startChaosSystem({ config: CONFIG, env: { INGEST_TEST_STORE_FAULTS: faultsFile } });
    redis = new Redis(sys.redisUrl, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    redis?.disconnect();
    await sys?.stop();
    if (faultsFile) await rm(faultsFile, { force: true });
  });

  it(`vector writes +${DELAY_MS} ms and every 4th failing, graph every 5th failing: vector queue paused then resumed, no FAILED, golden state`, async () => {
    const s = sys!;
    const paused = async () => (await s.api.ok<{ queues: { queue: string; paused: boolean }[] }>('GET', '/api/queues')).queues.find((q) => q.queue === 'vector')!.paused;
    await writeFile(faultsFile, JSON.stringify({ vector: { delayMs: DELAY_MS, failEvery: 4 }, graph: { failEvery: 5 } }));
    const faultAt = Date.now();
    const ids = await Promise.all(DOCS.map((d) => s.submit(TAG, d.name, d.text)));

    let deadline = Date.now() + 30_000;
    while (!(await paused())) {
      if (Date.now() > deadline) throw new Error(`the vector queue was not paused (signals ${JSON.stringify(await redis!.hgetall(backpressureKeys.state))})`);
      await sleep(20);
    }
    const pausedAt = Date.now();
    const signals = await redis!.hgetall(backpressureKeys.state);
    expect(Number(signals.vector_p95_ms), 'sampled vector p95').to.be.above(P95_MAX_MS);
    expect(signals['owned:vector'], 'the pause is the controller\'s').to.be.a('string');
    const notDoneAtPause = (await s.api.ok<{ jobs: { status: string }[] }>('POST', '/api/jobs/batch', { ids })).jobs.filter((j) => j.status !== 'DONE').length;

    await writeFile(faultsFile, '{}');
    const clearedAt = Date.now();
    deadline = Date.now() + 30_000;
    while (await paused()) {
      if (Date.now() > deadline) throw new Error('the vector queue was not resumed after the fault cleared');
      await sleep(20);
    }
    const resumedAt = Date.now();
    expect((await redis!.hgetall(backpressureKeys.state))['owned:vector']).to.equal(undefined);

    const states = await s.waitAll(ids, 120_000);
    const doneAt = Date.now();
    expect(states.filter((x) => x.status !== 'DONE').map((x) => `${x.job_id} ${x.status} ${JSON.stringify(x.error)}`)).to.deep.equal([]);
    const actual = await readState(s.api, TAG);
    expect(compareStates(golden, actual)).to.deep.equal([]);
    expect(duplicatesOf(actual)).to.deep.equal({ documents: [], sections: [], points: [] });
    const [vectorRetries, graphRetries] = [await s.queueEvents('vector', 'delayed'), await s.queueEvents('graph', 'delayed')];
    expect(vectorRetries, 'vector writes failed by the fault were retried').to.be.greaterThan(0);
    expect(graphRetries, 'graph writes failed by the fault were retried').to.be.greaterThan(0);
    expect((await s.queueEvents('vector', 'failed')) + (await s.queueEvents('graph', 'failed'))).to.equal(0);
    console.log(`      [chaos] stores via fault decorator: vector +${DELAY_MS} ms & 1/4 failing, graph 1/5 failing; vector queue paused ${pausedAt - faultAt} ms after the fault began `
      + `(p95 ${signals.vector_p95_ms} ms > ${P95_MAX_MS}), fault cleared after ${clearedAt - faultAt} ms, resumed ${resumedAt - clearedAt} ms later; `
      + `${notDoneAtPause} documents not DONE at the pause; retries: vector ${vectorRetries}, graph ${graphRetries}; all ${ids.length} DONE ${doneAt - clearedAt} ms after the clear; FAILED 0, duplicates 0`);
  });
});
