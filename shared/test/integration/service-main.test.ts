/**
 * superviseService (what every services/<name>/src/main.ts runs): graceful shutdown on a signal within a
 * drain budget, the heartbeat file the container healthcheck reads, and the liveness exit when the worker
 * stops consuming or Redis stops answering — against a real Redis and a real BullMQ queue.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { superviseService, type SupervisedService } from '../../src/runtime/service-main.js';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';

async function waitFor(check: () => Promise<boolean>, { timeoutMs }: { timeoutMs: number }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A worker as superviseService sees it: run/isRunning/close and the events it counts. */
class FakeWorker extends EventEmitter {
  running = false;
  forced = false;
  constructor(readonly name: string) {
    super();
  }
  run(): Promise<void> {
    this.running = true;
    return new Promise(() => undefined);
  }
  isRunning(): boolean {
    return this.running;
  }
  async close(force = false): Promise<void> {
    this.forced ||= force;
    this.running = false;
  }
}

describe('superviseService: graceful shutdown and liveness (real Redis)', function () {
  let server: TestRedis;
  let redis: Redis;
  let dir: string;
  const prefix = `{svc-${Date.now()}}`;
  let closedRuntime = 0;
  const runtime = (r: Pick<Redis, 'ping'> = redis): Runtime =>
    ({
      redis: r,
      logger: createLogger({ service: 'test', level: 'silent', format: 'json' }),
      config: { ...loadConfig({ env: {} }), queue: { ...loadConfig({ env: {} }).queue, prefix } },
      close: async () => {
        closedRuntime++;
      },
    }) as unknown as Runtime;

  before(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 2 });
    dir = await mkdtemp(path.join(tmpdir(), 'svc-'));
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    closedRuntime = 0;
  });

  it('keeps a heartbeat while healthy; on the signal closes the service, then the runtime, and exits 0', async () => {
    const heartbeatFile = path.join(dir, 'hb1');
    const worker = new FakeWorker('embed');
    const order: string[] = [];
    const exits: number[] = [];
    const service: SupervisedService = { name: 'embed', worker, close: async () => void order.push('service') };
    const done = superviseService(runtime(), service, { heartbeatFile, checkEveryMs: 20, signals: ['SIGUSR2'], exit: (c) => void exits.push(c) });
    expect(worker.running).to.equal(true);
    // The first heartbeat is written without waiting for it (service-main.ts): under load a stat right away
    // could come first and find no file.
    await waitFor(async () => (await stat(heartbeatFile)).isFile(), { timeoutMs: 5000 });
    const first = (await stat(heartbeatFile)).mtimeMs;
    await waitFor(async () => (await stat(heartbeatFile)).mtimeMs > first, { timeoutMs: 5000 });
    process.emit('SIGUSR2', 'SIGUSR2');
    await done;
    expect(order).to.deep.equal(['service']);
    expect(closedRuntime).to.equal(1);
    expect(exits).to.deep.equal([0]);
    expect(worker.forced).to.equal(false);
    expect(await stat(heartbeatFile).then(() => true, () => false)).to.equal(false);
    expect(process.listenerCount('SIGUSR2')).to.equal(0);
  });

  it('past the drain budget, closes the worker by force (its jobs go back as stalled) and still exits', async () => {
    const worker = new FakeWorker('graph');
    const exits: number[] = [];
    const done = superviseService(runtime(), { name: 'graph', worker, close: () => new Promise(() => undefined) }, {
      heartbeatFile: path.join(dir, 'hb2'), drainMs: 100, signals: ['SIGUSR2'], exit: (c) => void exits.push(c),
    });
    const started = Date.now();
    process.emit('SIGUSR2', 'SIGUSR2');
    await done;
    expect(Date.now() - started).to.be.within(90, 5000);
    expect(worker.forced).to.equal(true);
    expect(closedRuntime).to.equal(1);
    expect(exits).to.deep.equal([0]);
  });

  it('exits 1 when jobs wait and the worker has taken none for the liveness window', async () => {
    const queue = new Queue('verify', { connection: redis, prefix });
    await queue.add('stuck', { x: 1 });
    const worker = new FakeWorker('verify');
    const exits: number[] = [];
    void superviseService(runtime(), { name: 'verify', worker, close: async () => undefined }, {
      heartbeatFile: path.join(dir, 'hb3'), checkEveryMs: 25, livenessMs: 150, signals: ['SIGUSR2'], exit: (c) => void exits.push(c),
    });
    await waitFor(async () => exits.length > 0, { timeoutMs: 5000 });
    expect(exits).to.deep.equal([1]);
    process.emit('SIGUSR2', 'SIGUSR2'); // already stopping: ignored
    await queue.obliterate({ force: true });
    await queue.close();
    process.removeAllListeners('SIGUSR2');
  });

  it('an idle worker beside an empty queue stays healthy', async () => {
    const worker = new FakeWorker('extract');
    const exits: number[] = [];
    const heartbeatFile = path.join(dir, 'hb4');
    const done = superviseService(runtime(), { name: 'extract', worker, close: async () => undefined }, {
      heartbeatFile, checkEveryMs: 20, livenessMs: 100, signals: ['SIGUSR2'], exit: (c) => void exits.push(c),
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(exits).to.deep.equal([]);
    expect(Date.now() - (await stat(heartbeatFile)).mtimeMs).to.be.below(300);
    process.emit('SIGUSR2', 'SIGUSR2');
    await done;
    expect(exits).to.deep.equal([0]);
  });

  it('exits 1 when Redis stops answering for the liveness window (no worker: the watcher, the dashboard)', async () => {
    const silent = { ping: () => new Promise<string>(() => undefined) };
    const exits: number[] = [];
    void superviseService(runtime(silent as unknown as Redis), { name: 'watcher', close: async () => undefined }, {
      heartbeatFile: path.join(dir, 'hb5'), checkEveryMs: 25, livenessMs: 100, signals: ['SIGUSR2'], exit: (c) => void exits.push(c),
    });
    await waitFor(async () => exits.length > 0, { timeoutMs: 10_000 });
    expect(exits).to.deep.equal([1]);
    process.removeAllListeners('SIGUSR2');
  });
});
