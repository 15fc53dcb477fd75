import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { spawnRedis } from '../../services/cli/src/redis-server.js';
import { syntheticCorpus } from './corpus.js';
import { inChild, runDirectTwoProcesses } from './isolated.js';

// The benchmark's runs each in a process of their own (isolated.ts). A Redis of its own: the runs flush
// their databases, so never the REDIS_URL a developer may point tests at.
describe('bench: runs in processes of their own', function () {
  this.timeout(120_000);
  let redis: Awaited<ReturnType<typeof spawnRedis>>;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bench-isolated-'));
    redis = await spawnRedis({ binary: 'redis-server', dir, password: 'bench-test' });
  });
  after(async () => {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a direct run in a child takes its warm-up documents, then times and reports the others', async () => {
    const r = await inChild.direct(syntheticCorpus(4), redis.url, 2, syntheticCorpus(2, 7));
    expect(r).to.include({ docs: 4, done: 4 });
    expect(r.seconds).to.be.greaterThan(0);
    expect(r.redisCommands).to.be.greaterThan(0);
  });

  it('two direct children share the documents and start their clocks together', async () => {
    const r = await runDirectTwoProcesses(syntheticCorpus(5), redis.url, 2, syntheticCorpus(2, 7));
    expect(r).to.include({ docs: 5, done: 5 });
    expect(r.seconds).to.be.greaterThan(0);
  });

  it('a child that fails before it is warm fails the run with its error instead of leaving it waiting', async () => {
    const broken = [{ name: 'broken.md' }] as unknown as ReturnType<typeof syntheticCorpus>; // no text: Buffer.from(undefined) throws
    const error = await runDirectTwoProcesses(syntheticCorpus(2), redis.url, 1, [...broken, ...broken]).then(() => null, (e: Error) => e);
    expect(error?.message).to.match(/ended before it was warm|exited with 1: TypeError/);
    const direct = await inChild.direct(syntheticCorpus(1), redis.url, 1, broken).then(() => null, (e: Error) => e);
    expect(direct?.message).to.match(/^direct run exited with 1: TypeError/);
  });
});
