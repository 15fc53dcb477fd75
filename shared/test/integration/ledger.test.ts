import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Ledger } from '../../src/ledger/ledger.js';
import { documentId } from '../../src/ids/ids.js';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';

describe('ledger: admission as a compare-and-set (real Redis)', () => {
  let server: TestRedis;
  let redis: Redis;
  let ledger: Ledger;
  before(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url);
    ledger = new Ledger(redis);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const base = (docId: string, checksum: string, extra: Partial<{ force: boolean; op: 'ingest' | 'delete' }> = {}) =>
    ({ documentId: docId, checksum, pipelineVersion: 'p1', force: false, op: 'ingest' as const, tag: 't', sourceUri: 'u', ...extra });

  it('starts g1, dedupes the same content in flight, parks a newer one and supersedes an older parked one', async () => {
    const d = documentId('t', 'cli://t/a.md');
    expect(await ledger.admit(base(d, 'c1'))).to.deep.equal({ action: 'start', jobId: `${d}-g1` });
    expect(await ledger.admit(base(d, 'c1'))).to.deep.equal({ action: 'dup', jobId: `${d}-g1` });
    expect(await ledger.admit(base(d, 'c2'))).to.deep.equal({ action: 'park', jobId: `${d}-g2`, supersededJobId: null });
    expect(await ledger.admit(base(d, 'c3'))).to.deep.equal({ action: 'park', jobId: `${d}-g3`, supersededJobId: `${d}-g2` });
    expect(await ledger.latestGeneration(d)).to.equal(3);
    // g1 ends: the parked g3 is promoted; g1's content becomes the completed one.
    expect(await ledger.finish(d, `${d}-g1`, 1, 'DONE', 'p1')).to.equal(`${d}-g3`);
    expect(await ledger.finish(d, `${d}-g1`, 1, 'DONE', 'p1')).to.equal(null); // stale: no longer in flight
    expect(await ledger.finish(d, `${d}-g3`, 3, 'DONE', 'p1')).to.equal(null);
    const e = await ledger.get(d);
    expect(e).to.deep.include({ completedGeneration: 3, completedChecksum: 'c3', inFlight: null, pendingJob: null });
  });

  it('skips unchanged content, re-admits on --force or a new pipeline version, never reuses a generation', async () => {
    const d = documentId('t', 'cli://t/b.md');
    await ledger.admit(base(d, 'x'));
    await ledger.finish(d, `${d}-g1`, 1, 'DONE', 'p1');
    expect(await ledger.admit(base(d, 'x'))).to.deep.equal({ action: 'unchanged', completedJobId: `${d}-g1` });
    expect(await ledger.admit(base(d, 'x', { force: true }))).to.deep.equal({ action: 'start', jobId: `${d}-g2` });
    await ledger.finish(d, `${d}-g2`, 2, 'FAILED', 'p1');
    expect(await ledger.admit({ ...base(d, 'x'), pipelineVersion: 'p2' })).to.deep.equal({ action: 'start', jobId: `${d}-g3` });
  });

  it('serialises concurrent admissions: exactly one flow starts', async () => {
    const d = documentId('t', 'cli://t/c.md');
    const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.admit(base(d, `v${i}`))));
    expect(decisions.filter((x) => x.action === 'start')).to.have.length(1);
    expect(decisions.filter((x) => x.action === 'park')).to.have.length(19);
  });

  it('admits a tombstone only for a document that completed, and clears it on DELETED', async () => {
    const d = documentId('t', 'cli://t/d.md');
    expect(await ledger.admit(base(d, '', { op: 'delete' }))).to.deep.equal({ action: 'absent' });
    await ledger.admit(base(d, 'y'));
    await ledger.finish(d, `${d}-g1`, 1, 'DONE', 'p1');
    expect(await ledger.admit(base(d, '', { op: 'delete' }))).to.deep.equal({ action: 'start', jobId: `${d}-g2` });
    await ledger.finish(d, `${d}-g2`, 2, 'DELETED', 'p1');
    expect(await ledger.get(d)).to.deep.include({ completedGeneration: null, completedChecksum: null });
    expect(await ledger.admit(base(d, 'y'))).to.deep.equal({ action: 'start', jobId: `${d}-g3` });
  });
  it('admission lease: a submitter that died before its flow is finished by the next one, under the same job id', async () => {
    const d = documentId('t', 'cli://t/e.md');
    const leased = { ...base(d, 'z'), leaseMs: 300 };
    expect(await ledger.admit(leased)).to.deep.equal({ action: 'start', jobId: `${d}-g1` });
    // The first submitter never calls admitted() (killed -9): within the lease the same content waits…
    expect(await ledger.admit(leased)).to.deep.equal({ action: 'dup', jobId: `${d}-g1`, admitting: true });
    await new Promise((r) => setTimeout(r, 350));
    // …past it, one submitter takes the admission over (and holds a new lease), no new generation.
    expect(await ledger.admit(leased)).to.deep.equal({ action: 'resume', jobId: `${d}-g1` });
    expect(await ledger.admit(leased)).to.deep.equal({ action: 'dup', jobId: `${d}-g1`, admitting: true });
    await ledger.admitted(d, `${d}-g1`);
    expect(await ledger.admit(leased)).to.deep.equal({ action: 'dup', jobId: `${d}-g1` });
    expect(await ledger.latestGeneration(d)).to.equal(1);
    // Finishing clears it too; the next version starts g2 with its own lease.
    await ledger.finish(d, `${d}-g1`, 1, 'DONE', 'p1');
    expect(await ledger.admit({ ...leased, checksum: 'z2' })).to.deep.equal({ action: 'start', jobId: `${d}-g2` });
    expect(await redis.hget(`ingest:ledger:${d}`, 'admitting_job')).to.equal(`${d}-g2`);
  });
  it('admission sweep CAS: claims only a lapsed lease, once; fences the release; promotes the parked version under a lease', async () => {
    const d = documentId('t', 'cli://t/f.md');
    const leased = { ...base(d, 'dead'), leaseMs: 200 };
    expect(await ledger.admit(leased)).to.deep.equal({ action: 'start', jobId: `${d}-g1` });
    expect(await ledger.admit({ ...leased, checksum: 'newer' })).to.deep.equal({ action: 'park', jobId: `${d}-g2`, supersededJobId: null });
    // Inside the lease: no candidate, and a claim is refused.
    expect(await ledger.lapsedAdmissions(10)).to.not.include(d);
    expect(await ledger.claimStuck(d, 200)).to.equal(null);
    await new Promise((r) => setTimeout(r, 250));
    expect(await ledger.lapsedAdmissions(10)).to.include(d);
    // Two sweeps at once: exactly one claim.
    const claims = await Promise.all([ledger.claimStuck(d, 200), ledger.claimStuck(d, 200)]);
    const claim = claims.find((c) => c !== null)!;
    expect(claims.filter((c) => c !== null)).to.have.length(1);
    expect(claim).to.deep.include({ jobId: `${d}-g1`, op: 'ingest', checksum: 'dead', tag: 't', sourceUri: 'u' });
    // A stale token (another holder) releases nothing.
    expect(await ledger.releaseStuck({ ...claim, token: '1' }, 1, 'p1', 200)).to.deep.equal({ released: false, next: null });
    expect(await ledger.releaseStuck(claim, 1, 'p1', 200)).to.deep.equal({ released: true, next: `${d}-g2` });
    expect(await ledger.releaseStuck(claim, 1, 'p1', 200)).to.deep.equal({ released: false, next: null });
    expect(await ledger.get(d)).to.deep.include({ inFlight: `${d}-g2`, pendingJob: null, generation: 2, completedGeneration: null, lastJob: `${d}-g1` });
    // The promoted version holds a lease of its own until its flow is added; then the index is empty.
    expect(await redis.hget(`ingest:ledger:${d}`, 'admitting_job')).to.equal(`${d}-g2`);
    await ledger.admitted(d, `${d}-g2`);
    expect(await redis.zscore('ingest:admitting', d)).to.equal(null);
    expect(await ledger.claimStuck(d, 200)).to.equal(null);
    expect(await ledger.admit({ ...leased, checksum: 'third' })).to.deep.equal({ action: 'park', jobId: `${d}-g3`, supersededJobId: null });
  });

  it('admission sweep CAS: a claimed admission is not resumed by a resubmission, and a resumed one is not claimed', async () => {
    const d = documentId('t', 'cli://t/g.md');
    const leased = { ...base(d, 'same'), leaseMs: 150 };
    await ledger.admit(leased);
    await new Promise((r) => setTimeout(r, 200));
    expect(await ledger.claimStuck(d, 150)).to.not.equal(null);
    expect(await ledger.admit(leased)).to.deep.equal({ action: 'dup', jobId: `${d}-g1`, admitting: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(await ledger.admit(leased)).to.deep.equal({ action: 'resume', jobId: `${d}-g1` });
    expect(await ledger.claimStuck(d, 150)).to.equal(null);
  });
});
