// BullMQ objects re-emit their connection's errors and, without an 'error' listener, print each one as a
// raw stack trace. quietOnConnectionErrors must leave the reporting to the connection's own listener.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { expect } from 'chai';
import { Queue } from 'bullmq';
import { createRedis, quietOnConnectionErrors } from '../../src/queue/redis.js';

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function printedWhileRefused(quiet: boolean): Promise<unknown[][]> {
  const printed: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => { printed.push(args); };
  const errors: Error[] = [];
  const redis = createRedis(`redis://127.0.0.1:${await closedPort()}`, 'producer', 'quiet-test', (e) => errors.push(e));
  const queue = new Queue('quiet', { connection: redis, prefix: '{quiet}' });
  if (quiet) quietOnConnectionErrors(queue);
  try {
    // Two refused connection attempts reach both the connection's listener and the queue.
    while (errors.length < 2) await once(redis, 'error');
    await new Promise((r) => setImmediate(r));
  } finally {
    console.error = original;
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
  expect(errors.length, 'the connection itself reports the outage').to.be.at.least(2);
  return printed;
}

describe('quietOnConnectionErrors', () => {
  it('a BullMQ queue on a refused connection prints raw errors without it', async () => {
    expect((await printedWhileRefused(false)).length).to.be.greaterThan(0);
  });

  it('prints nothing with it; the connection listener still sees every error', async () => {
    expect(await printedWhileRefused(true)).to.deep.equal([]);
  });
});
