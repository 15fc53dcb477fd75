import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { artifactS3ClientConfigFromEnv, createLogger, jobIdFor, loadConfig, parseArtifactS3Uri, Pipeline, S3ArtifactStore, TieredArtifactStore } from '@ingest/shared';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';

/** s3rver on 127.0.0.1 in a child process (the watcher's helper script; --openssl-legacy-provider for its list tokens). */
async function startS3rver(directory: string, buckets: string[]): Promise<{ port: number; child: ChildProcess }> {
  const script = fileURLToPath(new URL('../../../services/watcher/test/s3rver-child.mjs', import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, directory, ...buckets], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    if (out.includes('\n')) break;
  }
  return { port: (JSON.parse(out.split('\n')[0]!) as { port: number }).port, child };
}

const JOB = jobIdFor('0b5c3a4e-0000-4000-8000-000000000001', 3);
const OTHER = jobIdFor('0b5c3a4e-0000-4000-8000-000000000002', 1);
const REDIS_MAX = 256 * 1024;

describe('S3ArtifactStore against s3rver on loopback', function () {
  this.timeout(60_000);
  let redisServer: TestRedis;
  let redis: Redis;
  let server: ChildProcess | undefined;
  let dir: string;
  let client: S3ClientConfig;
  let s3: S3Client;
  let store: S3ArtifactStore;
  const objectsUnder = async (Prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: 'artifacts', Prefix }))).Contents ?? []).map((o) => o.Key);

  before(async () => {
    redisServer = await startTestRedis();
    redis = new Redis(redisServer.url);
    dir = await mkdtemp(path.join(tmpdir(), 'ingest-s3-artifacts-'));
    const started = await startS3rver(dir, ['artifacts']);
    server = started.child;
    client = artifactS3ClientConfigFromEnv({
      AWS_ENDPOINT_URL: `http://127.0.0.1:${started.port}`, AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', S3_FORCE_PATH_STYLE: 'true',
    });
    s3 = new S3Client(client);
    store = new S3ArtifactStore(redis, { bucket: 'artifacts', prefix: 'ingest/tmp', redisMaxBytes: REDIS_MAX, ttlSeconds: 3600, client });
  });
  after(async () => {
    store?.close();
    s3?.destroy();
    if (server && server.exitCode === null) {
      server.stdin!.end();
      await once(server, 'exit');
    }
    redis?.disconnect();
    await redisServer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips small artifacts through Redis (no object written)', async () => {
    await store.put(`${JOB}/source.txt`, Buffer.from('hello'));
    await store.putJson(`${JOB}/parsed.json`, { a: 1, b: ['x'] });
    expect(Buffer.from((await store.get(`${JOB}/source.txt`))!).toString()).to.equal('hello');
    expect(await store.getJson(`${JOB}/parsed.json`)).to.deep.equal({ a: 1, b: ['x'] });
    expect(await objectsUnder(`ingest/tmp/${JOB}/`)).to.deep.equal([]);
  });

  it('round-trips big artifacts (> 256 KB) through the bucket under <prefix>/<job_id>/<name>', async () => {
    const big = Buffer.alloc(300 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    await store.put(`${JOB}/source.bin`, big);
    const sections = Array.from({ length: 4000 }, (_, i) => ({ id: i, text: `section ${i} `.repeat(10) }));
    await store.putJson(`${JOB}/sections.json`, sections);
    expect(Buffer.from((await store.get(`${JOB}/source.bin`))!).equals(big)).to.equal(true);
    expect(await store.getJson(`${JOB}/sections.json`)).to.deep.equal(sections);
    expect((await objectsUnder(`ingest/tmp/${JOB}/`)).sort()).to.deep.equal([`ingest/tmp/${JOB}/sections.json`, `ingest/tmp/${JOB}/source.bin`]);
    expect(await redis.exists(`ingest:artifact:${JOB}/source.bin`)).to.equal(0);
  });

  it('answers null for a missing artifact', async () => {
    expect(await store.get(`${JOB}/missing.json`)).to.equal(null);
    expect(await store.getJson(`${OTHER}/missing.json`)).to.equal(null);
  });

  it('rejects keys that try to escape their job prefix', async () => {
    for (const bad of [`${JOB}/../${OTHER}/x.json`, `../${JOB}/x.json`, `${JOB}/a/b.json`, '/etc/passwd', `${JOB}/`, 'x/../../y']) {
      const errors: string[] = [];
      for (const op of [() => store.put(bad, Buffer.from('x')), () => store.get(bad), () => store.putJson(bad, 1), () => store.getJson(bad)]) {
        try {
          await op();
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      expect(errors, bad).to.have.length(4);
      for (const m of errors) expect(m).to.match(/BAD_REQUEST: invalid artifact key/);
    }
    let err: Error | undefined;
    try {
      await store.deleteJob('../..');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/BAD_REQUEST: invalid job id/);
  });

  it('deleteJob removes the job\'s Redis artifacts and bucket objects, and only that job\'s', async () => {
    await store.put(`${OTHER}/source.bin`, Buffer.alloc(REDIS_MAX + 1, 7));
    await store.put(`${OTHER}/small.txt`, Buffer.from('keep'));
    await store.deleteJob(JOB);
    expect(await objectsUnder(`ingest/tmp/${JOB}/`)).to.deep.equal([]);
    for (const name of ['source.txt', 'parsed.json', 'source.bin', 'sections.json']) expect(await store.get(`${JOB}/${name}`), name).to.equal(null);
    expect(await redis.exists(`ingest:artifacts:${JOB}`)).to.equal(0);
    expect((await store.get(`${OTHER}/source.bin`))!.byteLength).to.equal(REDIS_MAX + 1);
    expect(Buffer.from((await store.get(`${OTHER}/small.txt`))!).toString()).to.equal('keep');
    await store.deleteJob(OTHER);
    expect(await objectsUnder('ingest/tmp/')).to.deep.equal([]);
  });

  it('a big artifact replaced by a small one reads back the small one', async () => {
    await store.put(`${JOB}/x.bin`, Buffer.alloc(REDIS_MAX + 10, 1));
    await store.put(`${JOB}/x.bin`, Buffer.from('now small'));
    expect(Buffer.from((await store.get(`${JOB}/x.bin`))!).toString()).to.equal('now small');
    await store.deleteJob(JOB);
    expect(await store.get(`${JOB}/x.bin`)).to.equal(null);
  });

  it('the Pipeline uses the S3 store when ARTIFACTS_S3_URI is set, else the tiered store', async () => {
    expect(parseArtifactS3Uri('s3://bucket/some/prefix')).to.deep.equal({ bucket: 'bucket', prefix: 'some/prefix' });
    const logger = createLogger({ level: 'silent', service: 'test', format: 'json' });
    const withS3 = loadConfig({ env: { ...process.env, ARTIFACTS_S3_URI: 's3://artifacts/ingest/tmp' } });
    expect(withS3.artifacts.s3).to.deep.equal({ bucket: 'artifacts', prefix: 'ingest/tmp' });
    const p1 = new Pipeline(withS3, redis, logger, 'test');
    expect(p1.artifacts).to.be.instanceOf(S3ArtifactStore);
    await p1.close();
    const env = { ...process.env };
    delete env.ARTIFACTS_S3_URI;
    const p2 = new Pipeline(loadConfig({ env }), redis, logger, 'test');
    expect(p2.artifacts).to.be.instanceOf(TieredArtifactStore);
    await p2.close();
  });
});
