// The chaos suite's store fault decorator: the identity without INGEST_TEST_STORE_FAULTS; with it, the
// file's delay, failure rate and window apply to the named write methods only, and a rewrite takes effect.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { RetryableError } from '../../src/errors/errors.js';
import { withTestStoreFaults } from '../../src/runtime/test-store-faults.js';

class Store {
  writes = 0;
  async upsert(): Promise<number> { return ++this.writes; }
  async count(): Promise<number> { return this.writes; }
}

describe('test-only store fault decorator (INGEST_TEST_STORE_FAULTS)', () => {
  let dir: string;
  let file: string;
  before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'store-faults-')); file = path.join(dir, 'faults.json'); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('is the store itself when the variable is unset', () => {
    const store = new Store();
    expect(withTestStoreFaults(store, 'vector', ['upsert'], undefined)).to.equal(store);
  });

  it('delays and fails every n-th write of its role in the window; reads untouched; a rewrite clears it', async () => {
    await writeFile(file, JSON.stringify({ vector: { delayMs: 300, failEvery: 2 }, graph: { failEvery: 1 } }));
    const store = new Store();
    const s = withTestStoreFaults(store, 'vector', ['upsert'], file);
    const t0 = Date.now();
    expect(await s.upsert()).to.equal(1);
    expect(Date.now() - t0).to.be.at.least(290);
    const error = await s.upsert().then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(RetryableError);
    expect((error as RetryableError).code).to.equal('STORE_UNAVAILABLE');
    expect(store.writes).to.equal(1);
    const t1 = Date.now();
    expect(await s.count()).to.equal(1);
    expect(Date.now() - t1).to.be.below(250);

    await writeFile(file, JSON.stringify({ vector: { delayMs: 300, failEvery: 1, until: Date.now() - 1 } }));
    await new Promise((r) => setTimeout(r, 120)); // past the re-read interval
    const t2 = Date.now();
    expect(await s.upsert()).to.equal(2);
    expect(await s.upsert()).to.equal(3);
    expect(Date.now() - t2).to.be.below(250);
  });
});
