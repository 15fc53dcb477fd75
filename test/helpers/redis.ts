import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnRedis } from '../../services/cli/src/redis-server.js';

export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Real Redis for tests (DESIGN §13): REDIS_URL when set, else a redis-server spawned on a free loopback
 * port with a temp dir (killed by PID in stop()).
 */
export async function startTestRedis(): Promise<TestRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => undefined };
  const dir = await mkdtemp(path.join(tmpdir(), 'ingest-redis-'));
  const r = await spawnRedis({ binary: 'redis-server', dir, password: 'test-password' });
  return {
    url: r.url,
    stop: async () => {
      await r.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
