import { expect } from 'chai';
import { Redis } from 'ioredis';
import { backpressureKeys, LATENCY_FLUSH_MS, publishStoreLatency } from '../../src/backpressure/latency.js';
import { loadConfig } from '../../src/config/load-config.js';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';

describe('store latency samples (real Redis)', function () {
  this.timeout(30_000);
  let server: TestRedis;
  let redis: Redis;
  before(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const lpushCalls = async () => Number(/cmdstat_lpush:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

  it('publishes every write\'s latency, many writes in one LPUSH, newest first, within the flush time', async () => {
    const settings = loadConfig({ env: {} }).backpressure;
    const store = {
      async write(ms: number) { await new Promise((r) => setTimeout(r, ms)); return ms; },
      async read() { return 0; },
    };
    const wrapped = publishStoreLatency(store, 'vector', ['write'], redis, settings);
    const before = await lpushCalls();
    const started = Date.now();
    // Twelve writes, finishing one after another; a read is not timed.
    expect(await Promise.all(Array.from({ length: 12 }, (_, i) => wrapped.write(5 + i * 3)))).to.have.length(12);
    await wrapped.read();
    const key = backpressureKeys.latency('vector');
    let samples: string[] = [];
    for (const deadline = Date.now() + 5000; samples.length < 12 && Date.now() < deadline;) {
      samples = await redis.lrange(key, 0, -1);
      if (samples.length < 12) await new Promise((r) => setTimeout(r, 10));
    }
    expect(samples).to.have.length(12);
    expect(Date.now() - started).to.be.below(2000 + LATENCY_FLUSH_MS);
    expect((await lpushCalls()) - before).to.be.at.most(2); // one per flush, not one per write
    const durations = samples.map((s) => Number(s.split(':')[1]));
    // Newest first: the longest write finished last.
    expect(durations[0]).to.be.greaterThan(durations.at(-1)!);
    expect(Math.min(...durations)).to.be.at.least(4);
  });
});
