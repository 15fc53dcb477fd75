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
export async function spawnRedis(o: {
  binary: string; dir: string; password: string; port?: number;
  /** Restart a server that dies on its own (same port, password and AOF dir: it reloads its AOF). */
  restart?: boolean;
  onRestart?: (info: { code: number | null; signal: NodeJS.Signals | null; pid: number | undefined; restarts: number }) => void;
}): Promise<SpawnedRedis> {
  await mkdir(o.dir, { recursive: true });
  const port = o.port ?? (await freePort());
  const url = `redis://:${encodeURIComponent(o.password)}@127.0.0.1:${port}`;
  let stopping = false;
  let restarts = 0;

  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(o.binary, [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', path.resolve(o.dir), '--requirepass', o.password,
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction',
      '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning',
    // Its own process group: a Ctrl-C in the terminal reaches `ingestctl up`, which then stops Redis last,
    // after the workers have drained (a Redis that died first would leave the shutdown retrying forever).
    ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const spawnFailed = new Promise<never>((_, reject) => {
      child.once('error', (e) => reject(new Error(`cannot start ${o.binary}: ${e.message}. Install it (Debian: apt-get install redis-server) or set REDIS_URL`)));
      child.once('exit', (code) => reject(new Error(`${o.binary} exited with ${code}: ${stderr.trim()}`)));
    });
    const ready = (async () => {
      for (let i = 0; i < 200; i++) {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined); // refused (or LOADING the AOF) until the server answers; the loop retries
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
      throw new Error('redis-server did not answer within 10 s');
    })();
    await Promise.race([ready, spawnFailed]);
    spawnFailed.catch(() => undefined);
    return child;
  };

  let current = await launch();
  const killOnExit = () => { if (current.exitCode === null) current.kill('SIGTERM'); };
  process.once('exit', killOnExit);
  const supervise = (child: ChildProcess) => {
    child.once('exit', (code, signal) => {
      if (stopping || !o.restart) return;
      restarts += 1;
      o.onRestart?.({ code, signal, pid: child.pid, restarts });
      const again = () => {
        launch().then((next) => {
          if (stopping) { next.kill('SIGTERM'); return; }
          current = next;
          supervise(next);
        }, () => setTimeout(again, Math.min(5000, 200 * 2 ** Math.min(restarts, 5))).unref());
      };
      setTimeout(again, 100).unref();
    });
  };
  supervise(current);
  return {
    url,
    get process() { return current; },
    stop: () => new Promise<void>((resolve) => {
      stopping = true;
      process.removeListener('exit', killOnExit);
      if (current.exitCode !== null || current.signalCode !== null) return resolve();
      current.once('exit', () => resolve());
      current.kill('SIGTERM');
    }),
  };
}
