import { createRequire } from 'node:module';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import { TieredArtifactStore, type BlobTier } from './artifact-store.js';
import { s3ClientConfigFromEnv } from '../util/s3.js';

/** Kept under these names for callers of the artifact store; one implementation in util/s3.ts. */
export { s3ClientConfigFromEnv as artifactS3ClientConfigFromEnv, parseS3Uri as parseArtifactS3Uri } from '../util/s3.js';

/**
 * The AWS SDK (~27 MB resident) is loaded when an S3 artifact store is built, not with this module:
 * every process imports @ingest/shared, few of them use S3 artifacts.
 */
type Sdk = typeof import('@aws-sdk/client-s3');
let sdkModule: Sdk | undefined;
const sdk = (): Sdk => (sdkModule ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as Sdk);

const isNoSuchKey = (e: unknown) =>
  e instanceof sdk().S3ServiceException && (e.name === 'NoSuchKey' || e.$metadata.httpStatusCode === 404);

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
 * bigger ones as objects `<prefix><job_id>/<name>` in an S3-compatible bucket. Expiry of objects of FAILED
 * jobs is a bucket lifecycle rule.
 */
export class S3ArtifactStore extends TieredArtifactStore {
  readonly client: S3Client;

  constructor(redis: Redis, o: S3ArtifactStoreOptions) {
    const client = new (sdk().S3Client)(o.client ?? s3ClientConfigFromEnv());
    super(redis, '', o.redisMaxBytes, o.ttlSeconds, s3BlobTier(client, o.bucket, o.prefix ?? ''));
    this.client = client;
  }
}

function s3BlobTier(client: S3Client, bucket: string, rawPrefix: string): BlobTier {
  const { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } = sdk();
  const prefix = rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
  return {
    async write(key, body) {
      // A PUT is atomic: readers see the old object or the new one, never half of one.
      await client.send(new PutObjectCommand({
        Bucket: bucket, Key: `${prefix}${key}`, Body: body, ContentLength: body.byteLength, ContentType: 'application/octet-stream',
      }));
    },
    async read(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${key}` }));
        return out.Body ? await out.Body.transformToByteArray() : null;
      } catch (error) {
        if (isNoSuchKey(error)) return null;
        throw error;
      }
    },
    async removeJob(jobId) {
      const Prefix = `${prefix}${jobId}/`;
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix, ContinuationToken }));
        // One DELETE per object: a job has a handful of artifacts, and DeleteObjects' checksum rules vary by server.
        await Promise.all((page.Contents ?? []).flatMap((o) => (o.Key ? [client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }))] : [])));
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },
    close: () => client.destroy(),
  };
}
