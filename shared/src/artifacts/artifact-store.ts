import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { ArtifactStore } from '../ports/artifact-store.js';
import { keys } from '../ledger/keys.js';

const SAFE_KEY = /^[0-9a-f-]{36}-g[0-9]+\/[a-z0-9._-]+$/;
const SAFE_JOB = /^[0-9a-f-]{36}-g[0-9]+$/;

/** Where artifacts too big for Redis go: files on a shared volume, or an S3-compatible bucket. */
export interface BlobTier {
  /** Replaces the artifact atomically: readers see the old or the new one, never half of one. */
  write(key: string, body: Uint8Array): Promise<void>;
  read(key: string): Promise<Uint8Array | null>;
  removeJob(jobId: string): Promise<void>;
  close?(): void;
}

/** Files under `<dataDir>/artifacts` (a volume shared by the containers of one host). */
export function fileBlobTier(dataDir: string): BlobTier {
  const root = path.join(dataDir, 'artifacts');
  return {
    async write(key, body) {
      const file = path.join(root, key);
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, file);
    },
    async read(key) {
      try {
        return await readFile(path.join(root, key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    removeJob: (jobId) => rm(path.join(root, jobId), { recursive: true, force: true }),
  };
}

/**
 * Artifacts up to `redisMaxBytes` live in Redis (every process and host sees them, no shared volume
 * needed); bigger ones in the blob tier (files by default). Keys are `<job_id>/<name>`, checked, so no key
 * ever escapes its job's folder or prefix.
 */
export class TieredArtifactStore implements ArtifactStore {
  constructor(
    private readonly redis: Redis,
    dataDir: string,
    private readonly redisMaxBytes: number,
    private readonly ttlSeconds: number,
    protected readonly big: BlobTier = fileBlobTier(dataDir),
  ) {}

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
    await this.big.write(key, body);
    await this.redis.del(keys.artifact(key)); // a smaller earlier version must not shadow this one
  }

  async get(key: string): Promise<Uint8Array | null> {
    this.jobOf(key);
    return (await this.redis.getBuffer(keys.artifact(key))) ?? this.big.read(key);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.put(key, Buffer.from(JSON.stringify(value)));
  }

  async getJson<T>(key: string): Promise<T | null> {
    const raw = await this.get(key);
    return raw ? (JSON.parse(Buffer.from(raw).toString('utf8')) as T) : null;
  }

  async deleteJob(jobId: string): Promise<void> {
    if (!SAFE_JOB.test(jobId)) throw new Error(`BAD_REQUEST: invalid job id ${JSON.stringify(jobId)}`);
    const indexed = await this.redis.smembers(keys.artifactIndex(jobId));
    await this.redis.del(keys.artifactIndex(jobId), ...indexed.map(keys.artifact));
    await this.big.removeJob(jobId);
  }

  close(): void {
    this.big.close?.();
  }

  private jobOf(key: string): string {
    if (!SAFE_KEY.test(key)) throw new Error(`BAD_REQUEST: invalid artifact key ${JSON.stringify(key)}`);
    return key.slice(0, key.indexOf('/'));
  }
}
