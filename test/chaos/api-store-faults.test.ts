// Chaos (issue 6, catalogue F14 on the wire we have): ingest-embed reads VectorStore.existingHashes through
// the API of the store process (shared/src/adapters/remote/api-stores.ts). Here that HTTP path goes
// through a fault proxy answering 503 to every other request, then to every request, then slowly. The
// reader turns a 5xx into a RetryableError, so the embed job is retried with the configured exponential
// backoff (attempts 8, 200 ms base) — no FAILED, golden state — and no retry comes before its backoff.
// The documents under fault are second versions: a first version has nothing to reuse, so its embed
// stage does not read at all (embed.stage.ts).
import { expect } from 'chai';
import { FaultProxy, type RequestRecord } from './fault-proxy.js';
import { compareStates, duplicatesOf, readState, type TagState } from './golden-state.js';
import { CHAOS_CONFIG, corpus, startChaosSystem, type ChaosSystem } from './system.js';

const DOCS = corpus(30);
const EDITED = DOCS.map((d) => ({ ...d, text: `${d.text}\n\n## Changelog\n\nEdited once.\n` }));
const TAG = 'fault-api';
const BACKOFF_MS = 200;
const JITTER = 0.3; // shared/src/queue/flows.ts: a retry waits backoff·2^(k-1)·[1-jitter, 1]
const CONFIG = CHAOS_CONFIG.replace(/^ {2}embed: .*$/m, `  embed:   { concurrency: 4, attempts: 8, backoffMs: ${BACKOFF_MS}, lockDurationMs: 2000, stalledIntervalMs: 1000 }`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos: the API store read path answers 503 and is slow', function () {
  this.timeout(180_000);
  let golden: TagState;
  let proxy: FaultProxy;
  let sys: ChaosSystem | undefined;

  before(async () => {
    expect(CONFIG).to.include(`backoffMs: ${BACKOFF_MS}`);
    const clean = await startChaosSystem({ config: CONFIG });
    try {
      for (const docs of [DOCS, EDITED]) {
        const ids = await Promise.all(docs.map((d) => clean.submit(TAG, d.name, d.text)));
        expect((await clean.waitAll(ids)).map((s) => s.status)).to.deep.equal(ids.map(() => 'DONE'));
      }
      golden = await readState(clean.api, TAG);
    } finally {
      await clean.stop();
    }
    proxy = await FaultProxy.start({ protocol: 'http' });
    sys = await startChaosSystem({ config: CONFIG, computeVia: { api: proxy } });
    const firsts = await Promise.all(DOCS.map((d) => sys!.submit(TAG, d.name, d.text)));
    expect((await sys.waitAll(firsts)).map((s) => s.status)).to.deep.equal(firsts.map(() => 'DONE'));
  });
  after(async () => {
    await sys?.stop();
    await proxy?.close();
  });

  it('503 on half, then all, then 800 ms latency: embed retries with backoff, no FAILED, golden state, no duplicates', async () => {
    const s = sys!;
    const faultAt = Date.now();
    await proxy.setMode({ kind: 'http-error', status: 503, share: 0.5 });
    const ids = await Promise.all(EDITED.map((d) => s.submit(TAG, d.name, d.text)));
    await sleep(4000);
    await proxy.setMode({ kind: 'http-error', status: 503, share: 1 });
    await sleep(1500);
    await proxy.setMode({ kind: 'latency', ms: 800 });
    await sleep(2000);
    await proxy.setMode({ kind: 'pass' });
    const clearedAt = Date.now();

    const states = await s.waitAll(ids, 120_000);
    const recoveredMs = Date.now() - clearedAt;
    expect(states.filter((x) => x.status !== 'DONE').map((x) => `${x.job_id} ${x.status} ${JSON.stringify(x.error)}`)).to.deep.equal([]);
    const actual = await readState(s.api, TAG);
    expect(compareStates(golden, actual)).to.deep.equal([]);
    expect(duplicatesOf(actual)).to.deep.equal({ documents: [], sections: [], points: [] });

    // Per document, its run of 503s from its first read: the k-th retry came no sooner than its backoff.
    const byDoc = new Map<string, RequestRecord[]>();
    for (const r of proxy.stats.requests.filter((x) => x.url.startsWith('/api/vectors/existing-hashes'))) {
      const doc = new URL(r.url, 'http://x').searchParams.get('document_id')!;
      byDoc.set(doc, [...(byDoc.get(doc) ?? []), r]);
    }
    const gaps: number[][] = [];
    for (const reqs of byDoc.values()) {
      for (let k = 1; k < reqs.length && reqs[k - 1]!.injected; k++) {
        const gap = reqs[k]!.at - reqs[k - 1]!.at;
        const floor = BACKOFF_MS * 2 ** (k - 1) * (1 - JITTER);
        expect(gap, `retry ${k} of a document after ${gap} ms, its backoff is at least ${floor} ms`).to.be.at.least(floor - 5);
        (gaps[k - 1] ??= []).push(gap);
      }
    }
    const injected = proxy.stats.requests.filter((r) => r.injected).length;
    const affected = [...byDoc.values()].filter((reqs) => reqs.some((r) => r.injected)).length;
    expect(injected, '503s answered').to.be.greaterThan(0);
    expect(gaps[1]?.length ?? 0, 'documents retried at least twice in a row').to.be.greaterThan(0);
    const retried = (await s.queueEvents('embed', 'delayed'));
    expect(retried, 'embed retries with backoff (delayed events)').to.be.at.least(injected);
    expect(await s.queueEvents('embed', 'failed')).to.equal(0);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`      [chaos] API store reads via HTTP proxy: 503 on 1/2 for 4 s → all for 1.5 s → +800 ms for 2 s; fault window ${clearedAt - faultAt} ms; `
      + `${injected} 503s to ${affected}/${ids.length} documents, ${retried} embed retries; median gap after the k-th 503 (ms): ${gaps.map((g, i) => `k=${i + 1}:${median(g)} (n=${g.length})`).join(' ')}; `
      + `all DONE ${recoveredMs} ms after; FAILED 0, duplicates 0`);
  });
});
