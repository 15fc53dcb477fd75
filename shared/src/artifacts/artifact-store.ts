import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { ArtifactStore } from '../ports/artifact-store.js';
import { keys } from '../ledger/keys.js';

const SAFE_KEY = /^[0-9a-f-]{36}-g[0-9]+\/[a-z0-9._-]+$/;

/**
 * Artifacts up to `redisMaxBytes` live in Redis (every process and host sees them, no shared volume
 * needed); bigger ones in files under `<dataDir>/artifacts` (a volume shared by the containers of one
 * host). Keys are `<job_id>/<name>`, checked, so no key ever escapes the folder.
 */
export class TieredArtifactStore implements ArtifactStore {
  private readonly root: string;
  constructor(
    private readonly redis: Redis,
    dataDir: string,
    private readonly redisMaxBytes: number,
    private readonly ttlSeconds: number,
  ) {
    this.root = path.join(dataDir, 'artifacts');
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const jobId = this.jobOf(key);
    if (body.byteLength <= this.redisMaxBytes) {
      await this.redis.multi()
        .set(keys.artifact(key), Buffer.from(body.buffer, body.byteOffset, body.byteLength), 'EX', this.ttlSeconds)
        .sadd(keys.artifactIndex(jobId), key)
        .expire(keys.artifactIndex(jobId), this.ttlSeconds)
        .exec();
      return;
    }
    const file = path.join(this.root, key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, file); // readers never see half a file
    await this.redis.del(keys.artifact(key));
  }

  async get(key: string): Promise<Uint8Array | null> {
    this.jobOf(key);
    const fromRedis = await this.redis.getBuffer(keys.artifact(key));
    if (fromRedis) return fromRedis;
    try {
      return await readFile(path.join(this.root, key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.put(key, Buffer.from(JSON.stringify(value)));
  }

  async getJson<T>(key: string): Promise<T | null> {
    const raw = await this.get(key);
    return raw ? (JSON.parse(Buffer.from(raw).toString('utf8')) as T) : null;
  }

  async deleteJob(jobId: string): Promise<void> {
    const indexed = await this.redis.smembers(keys.artifactIndex(jobId));
    await this.redis.del(keys.artifactIndex(jobId), ...indexed.map(keys.artifact));
    await rm(path.join(this.root, jobId), { recursive: true, force: true });
  }

  private jobOf(key: string): string {
    if (!SAFE_KEY.test(key)) throw new Error(`BAD_REQUEST: invalid artifact key ${JSON.stringify(key)}`);
    return key.slice(0, key.indexOf('/'));
  }
}
