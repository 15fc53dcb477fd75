import {
  DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import type { ArtifactStore } from '../ports/artifact-store.js';
import { keys } from '../ledger/keys.js';

const SAFE_KEY = /^[0-9a-f-]{36}-g[0-9]+\/[a-z0-9._-]+$/;
const SAFE_JOB = /^[0-9a-f-]{36}-g[0-9]+$/;

/** Kept under these names for callers of the artifact store; one implementation in util/s3.ts. */
export { s3ClientConfigFromEnv as artifactS3ClientConfigFromEnv, parseS3Uri as parseArtifactS3Uri } from '../util/s3.js';
import { s3ClientConfigFromEnv } from '../util/s3.js';

const isNoSuchKey = (e: unknown) =>
  e instanceof S3ServiceException && (e.name === 'NoSuchKey' || e.$metadata.httpStatusCode === 404);

export interface S3ArtifactStoreOptions {
  readonly bucket: string;
  /** Object-key prefix; a trailing '/' is added when missing. */
  readonly prefix?: string;
  readonly redisMaxBytes: number;
  readonly ttlSeconds: number;
  /** Client settings; default from the AWS_* variables (see `artifactS3ClientConfigFromEnv`). */
  readonly client?: S3ClientConfig;
}

/**
 * Artifacts beyond one host (DESIGN §2, §15): up to `redisMaxBytes` in Redis as with the tiered store,
 * bigger ones as objects `<prefix><job_id>/<name>` in an S3-compatible bucket. Keys are checked the same
 * way, so no key leaves its job's prefix. Expiry of objects of FAILED jobs is a bucket lifecycle rule.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly redisMaxBytes: number;
  private readonly ttlSeconds: number;

  constructor(private readonly redis: Redis, o: S3ArtifactStoreOptions) {
    this.client = new S3Client(o.client ?? s3ClientConfigFromEnv());
    this.bucket = o.bucket;
    const p = o.prefix ?? '';
    this.prefix = p === '' || p.endsWith('/') ? p : `${p}/`;
    this.redisMaxBytes = o.redisMaxBytes;
    this.ttlSeconds = o.ttlSeconds;
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
    // A PUT is atomic: readers see the old object or the new one, never half of one.
    await this.client.send(new PutObjectCommand({
      Bucket: this.bucket, Key: this.objectKey(key), Body: body, ContentLength: body.byteLength, ContentType: 'application/octet-stream',
    }));
    await this.redis.del(keys.artifact(key));
  }

  async get(key: string): Promise<Uint8Array | null> {
    this.jobOf(key);
    const fromRedis = await this.redis.getBuffer(keys.artifact(key));
    if (fromRedis) return fromRedis;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      if (!out.Body) return null;
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (isNoSuchKey(error)) return null;
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
    if (!SAFE_JOB.test(jobId)) throw new Error(`BAD_REQUEST: invalid job id ${JSON.stringify(jobId)}`);
    const indexed = await this.redis.smembers(keys.artifactIndex(jobId));
    await this.redis.del(keys.artifactIndex(jobId), ...indexed.map(keys.artifact));
    const Prefix = `${this.prefix}${jobId}/`;
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken }));
      // One DELETE per object: a job has a handful of artifacts, and DeleteObjects' checksum rules vary by server.
      await Promise.all((page.Contents ?? []).flatMap((o) => (o.Key ? [this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: o.Key }))] : [])));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  close(): void {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  private jobOf(key: string): string {
    if (!SAFE_KEY.test(key)) throw new Error(`BAD_REQUEST: invalid artifact key ${JSON.stringify(key)}`);
    return key.slice(0, key.indexOf('/'));
  }
}
