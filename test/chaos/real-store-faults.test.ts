// Chaos (issue 6, catalogue F11/F14) against the real network stores: Qdrant behind the HTTP fault proxy
// (503 on 30 % of requests, then 1.5 s latency) and Neo4j behind the TCP fault proxy (refused 4 s, then
// 300 ms latency) during a 30-document ingest. Needs QDRANT_URL / NEO4J_URI (or a Docker engine, as the
// contract suites); otherwise each test is pending with the reason — never a silent pass. The golden state
// is the embedded default's clean run of the same documents (the store contracts make them equal).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { pendingReason } from '../../shared/test/contract/real-stores.js';
import { FaultProxy } from './fault-proxy.js';
import { compareStates, duplicatesOf, readState, type TagState } from './golden-state.js';
import { corpus, startChaosSystem } from './system.js';

const DOCS = corpus(30);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Scenario {
  readonly store: 'qdrant' | 'neo4j';
  readonly variable: 'QDRANT_URL' | 'NEO4J_URI';
  readonly protocol: 'http' | 'tcp';
  readonly describe: string;
  run(proxy: FaultProxy): Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    store: 'qdrant', variable: 'QDRANT_URL', protocol: 'http', describe: '503 on 30 % for 4 s → +1500 ms for 2 s',
    async run(p) {
      await p.setMode({ kind: 'http-error', status: 503, share: 0.3 });
      await sleep(4000);
      await p.setMode({ kind: 'latency', ms: 1500 });
      await sleep(2000);
    },
  },
  {
    store: 'neo4j', variable: 'NEO4J_URI', protocol: 'tcp', describe: 'refused 4 s → +300 ms for 2 s',
    async run(p) {
      await p.setMode({ kind: 'refuse' });
      await sleep(4000);
      await p.setMode({ kind: 'latency', ms: 300 });
      await sleep(2000);
    },
  },
];

for (const sc of SCENARIOS) {
  const reason = await pendingReason(sc.variable);
  describe(`chaos: ${sc.store} behind the fault proxy`, function () {
    this.timeout(240_000);
    if (reason) {
      console.log(`      [chaos] ${sc.store} via proxy: pending — ${reason}`);
      it(`${sc.describe}: every document DONE, golden state — pending: ${reason}`);
      return;
    }
    it(`${sc.describe}: every document DONE, golden state, no duplicates`, async () => {
      // A tag of its own per run: the real store outlives the test.
      const tag = `fault-${sc.store}-${randomUUID().slice(0, 8)}`;
      const clean = await startChaosSystem({ env: { QDRANT_URL: '', NEO4J_URI: '' } });
      let golden: TagState;
      try {
        const ids = await Promise.all(DOCS.map((d) => clean.submit(tag, d.name, d.text)));
        expect((await clean.waitAll(ids)).map((s) => s.status)).to.deep.equal(ids.map(() => 'DONE'));
        golden = await readState(clean.api, tag);
      } finally {
        await clean.stop();
      }
      const real = new URL(process.env[sc.variable]!);
      const proxy = await FaultProxy.start({ protocol: sc.protocol, target: Number(real.port || (sc.store === 'qdrant' ? 6333 : 7687)) });
      const via = new URL(real.href);
      via.hostname = '127.0.0.1';
      via.port = String(proxy.port);
      const other = sc.store === 'qdrant' ? { NEO4J_URI: '' } : { QDRANT_URL: '' };
      const sys = await startChaosSystem({ env: { [sc.variable]: sc.store === 'qdrant' ? via.origin : via.href, ...other } });
      try {
        const ids = await Promise.all(DOCS.map((d) => sys.submit(tag, d.name, d.text)));
        const faultAt = Date.now();
        await sc.run(proxy);
        await proxy.setMode({ kind: 'pass' });
        const clearedAt = Date.now();
        const states = await sys.waitAll(ids, 180_000);
        const recoveredMs = Date.now() - clearedAt;
        expect(states.filter((x) => x.status !== 'DONE').map((x) => `${x.job_id} ${x.status} ${JSON.stringify(x.error)}`)).to.deep.equal([]);
        const actual = await readState(sys.api, tag);
        expect(compareStates(golden, actual)).to.deep.equal([]);
        expect(duplicatesOf(actual)).to.deep.equal({ documents: [], sections: [], points: [] });
        const stage = sc.store === 'qdrant' ? 'vector' : 'graph';
        const retries = await sys.queueEvents(stage, 'delayed');
        console.log(`      [chaos] ${sc.store} via proxy: ${sc.describe}; fault window ${clearedAt - faultAt} ms; ${proxy.stats.requests.filter((r) => r.injected).length} injected errors, `
          + `${retries} ${stage} retries; all ${ids.length} DONE ${recoveredMs} ms after; FAILED 0, duplicates 0`);
      } finally {
        await sys.stop();
        await proxy.close();
      }
    });
  });
}
