import { expect } from 'chai';
import { coalescedReads } from '../../src/util/coalesced-reads.js';

/** A loader whose batches are recorded and held open until released, so the schedule is observable. */
function recordingLoad() {
  const batches: string[][] = [];
  const releases: (() => void)[] = [];
  const load = async (keys: readonly string[]) => {
    batches.push([...keys]);
    await new Promise<void>((r) => releases.push(r));
    return new Map(keys.filter((k) => k !== 'absent').map((k) => [k, k.toUpperCase()]));
  };
  const nextBatch = async (n: number) => { while (batches.length < n) await new Promise((r) => setImmediate(r)); };
  return { batches, releases, load, nextBatch };
}

describe('coalescedReads', () => {
  it('sends a lone read at once, on its own', async () => {
    const r = recordingLoad();
    const read = coalescedReads(r.load, () => 'none');
    const a = read('a');
    await r.nextBatch(1);
    r.releases[0]!();
    expect(await a).to.equal('A');
    expect(r.batches).to.deep.equal([['a']]);
  });

  it('merges the reads issued while a batch runs into the next one, de-duplicated, and answers each caller', async () => {
    const r = recordingLoad();
    const read = coalescedReads(r.load, () => 'none');
    const first = read('a');
    await r.nextBatch(1);
    const later = ['b', 'c', 'b', 'absent', 'd'].map((k) => read(k));
    for (let i = 0; i < 10; i++) await new Promise((res) => setImmediate(res)); // ten turns of the loop: they stay queued while batch 1 is open
    expect(r.batches).to.have.length(1);
    r.releases[0]!();
    await r.nextBatch(2);
    expect(r.batches[1]).to.deep.equal(['b', 'c', 'absent', 'd']);
    r.releases[1]!();
    expect(await first).to.equal('A');
    expect(await Promise.all(later)).to.deep.equal(['B', 'C', 'B', 'none', 'D']);
  });

  it('splits at maxBatch and rejects every caller of a failed batch, then keeps working', async () => {
    const batches: string[][] = [];
    let fail = true;
    const read = coalescedReads(async (keys: readonly string[]) => {
      batches.push([...keys]);
      if (fail) throw new Error('store down');
      return new Map(keys.map((k) => [k, k]));
    }, () => '', { maxBatch: 2, maxInFlight: 4 });
    const results = await Promise.allSettled(['a', 'b', 'c'].map((k) => read(k)));
    expect(results.map((x) => x.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
    expect(batches).to.deep.equal([['a', 'b'], ['c']]);
    fail = false;
    expect(await read('z')).to.equal('z');
  });
});
