import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface SpawnedRedis {
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A private redis-server for the embedded default (DESIGN §3): loopback only, password, AOF on in the
 * data dir, noeviction (BullMQ keys must never be evicted).
 */
export async function spawnRedis(o: { binary: string; dir: string; password: string; port?: number }): Promise<SpawnedRedis> {
  await mkdir(o.dir, { recursive: true });
  const port = o.port ?? (await freePort());
  const child = spawn(o.binary, [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', path.resolve(o.dir), '--requirepass', o.password,
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction',
    '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning',
  // Its own process group: a Ctrl-C in the terminal reaches `ingestctl up`, which then stops Redis last,
  // after the workers have drained (a Redis that died first would leave the shutdown retrying forever).
  ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const killOnExit = () => { if (child.exitCode === null) child.kill('SIGTERM'); };
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const spawnFailed = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start ${o.binary}: ${e.message}. Install it (Debian: apt-get install redis-server) or set REDIS_URL`)));
    child.once('exit', (code) => reject(new Error(`${o.binary} exited with ${code}: ${stderr.trim()}`)));
  });
  const url = `redis://:${encodeURIComponent(o.password)}@127.0.0.1:${port}`;
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined); // refused until the server listens; the loop retries
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('redis-server did not answer within 5 s');
  })();
  await Promise.race([ready, spawnFailed]);
  spawnFailed.catch(() => undefined);
  return {
    url,
    process: child,
    stop: () => new Promise<void>((resolve) => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
