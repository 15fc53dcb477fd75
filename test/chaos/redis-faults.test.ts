// Chaos (issue 6, catalogue F10): the compute processes (ingest-parse/extract/embed) reach Redis through a
// TCP fault proxy that goes slow (400 ms), then silent (blackhole, 3 s), then down (refused, 5 s), then
// resets every connection, during a 30-document ingest. Workers wait for Redis and reconnect by themselves;
// jobs whose locks lapsed are recovered as stalled and re-run idempotently: every document DONE, golden
// state, no duplicates.
import { expect } from 'chai';
import { FaultProxy } from './fault-proxy.js';
import { compareStates, duplicatesOf, readState, type TagState } from './golden-state.js';
import { corpus, startChaosSystem, type ChaosSystem } from './system.js';

const DOCS = corpus(30);
const TAG = 'fault-redis';
const COMPUTE = ['parse', 'extract', 'embed'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos: Redis slow, down and reset for the compute processes', function () {
  this.timeout(180_000);
  let golden: TagState;
  let proxy: FaultProxy;
  let sys: ChaosSystem | undefined;

  before(async () => {
    const clean = await startChaosSystem();
    try {
      const ids = await Promise.all(DOCS.map((d) => clean.submit(TAG, d.name, d.text)));
      expect((await clean.waitAll(ids)).map((s) => s.status)).to.deep.equal(ids.map(() => 'DONE'));
      golden = await readState(clean.api, TAG);
    } finally {
      await clean.stop();
    }
    proxy = await FaultProxy.start();
    sys = await startChaosSystem({ computeVia: { redis: proxy } });
  });
  after(async () => {
    await sys?.stop();
    await proxy?.close();
  });

  it('latency 400 ms → blackhole 3 s → refused 5 s → RST: no FAILED, every document DONE after recovery, golden state, no duplicates', async () => {
    const s = sys!;
    const before = await s.children();
    const counts = async (event: string) => (await Promise.all(COMPUTE.map((st) => s.queueEvents(st, event)))).reduce((a, b) => a + b, 0);
    const notDone = async (ids: string[]) =>
      (await s.api.ok<{ jobs: { status: string }[] }>('POST', '/api/jobs/batch', { ids })).jobs.filter((j) => j.status !== 'DONE').length;

    const ids = await Promise.all(DOCS.map((d) => s.submit(TAG, d.name, d.text)));
    const faultAt = Date.now();
    await proxy.setMode({ kind: 'latency', ms: 400 });
    const inFlight = await notDone(ids);
    await sleep(3000);
    // Accepted but silent: commands hang (ioredis has no command timeout); leaving it closes those connections.
    await proxy.setMode({ kind: 'blackhole' });
    await sleep(3000);
    await proxy.setMode({ kind: 'refuse' });
    await sleep(5000);
    await proxy.setMode({ kind: 'pass' });
    // Let the workers reconnect, then cut every connection they hold with an RST (and new ones for 500 ms).
    const reconnectedBy = Date.now() + 10_000;
    while (proxy.open < COMPUTE.length) {
      if (Date.now() > reconnectedBy) throw new Error('the compute processes did not reconnect');
      await sleep(20);
    }
    await sleep(500);
    await proxy.setMode({ kind: 'reset' });
    await sleep(500);
    await proxy.setMode({ kind: 'pass' });
    const clearedAt = Date.now();
    const pendingAtClear = await notDone(ids);

    const states = await s.waitAll(ids, 120_000);
    const recoveredMs = Date.now() - clearedAt;
    expect(states.filter((x) => x.status !== 'DONE').map((x) => `${x.job_id} ${x.status} ${JSON.stringify(x.error)}`)).to.deep.equal([]);
    const actual = await readState(s.api, TAG);
    expect(compareStates(golden, actual)).to.deep.equal([]);
    expect(duplicatesOf(actual)).to.deep.equal({ documents: [], sections: [], points: [] });
    // The faults were on the path: documents were still in the compute stages when they ended, and live
    // connections were reset.
    expect(pendingAtClear, 'documents not DONE when the faults ended').to.be.greaterThan(0);
    expect(proxy.stats.resets, 'connections reset').to.be.greaterThan(0);
    expect(proxy.stats.swallowed, 'bytes swallowed by the blackhole').to.be.greaterThan(0);
    const after = await s.children();
    const restarted = COMPUTE.filter((st) => after.get(`ingest-${st}`) !== before.get(`ingest-${st}`));
    const [stalled, retried, failed] = [await counts('stalled'), await counts('delayed'), await counts('failed')];
    expect(failed, 'jobs failed for good').to.equal(0);
    console.log(`      [chaos] redis via proxy: latency 400 ms 3 s → blackhole 3 s (${proxy.stats.swallowed} bytes swallowed) → refused 5 s → RST (${proxy.stats.resets} connections); fault window ${clearedAt - faultAt} ms; `
      + `${inFlight} documents in flight at the start, ${pendingAtClear} not DONE when it cleared; all ${ids.length} DONE ${recoveredMs} ms after; `
      + `${stalled} stalled recoveries, ${retried} backoff retries, processes restarted: ${restarted.join(', ') || 'none'}; FAILED 0, duplicates 0`);
  });
});
