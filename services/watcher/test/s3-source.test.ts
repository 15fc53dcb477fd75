import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { ADMISSION_FIELD, backpressureKeys, checksumOf, documentId, normaliseText, sourceUri, TombstoneGuard, type JobState } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../../../test/helpers/system.js';
import { waitForSourceJob } from '../../../test/helpers/wait.js';
import { fileURLToPath } from 'node:url';
import { escapeKey, parseS3Uri, s3ClientConfigFromEnv, startS3Source, type S3Source } from '../src/s3-source.js';

const jobOf = (t: TestSystem, uri: string, status: string, timeoutMs?: number): Promise<JobState> => waitForSourceJob(t.api, uri, status, timeoutMs);

/** s3rver (a real S3 REST server in Node) on 127.0.0.1, in a child process (see s3rver-child.mjs). */
async function startS3rver(directory: string, buckets: string[]): Promise<{ port: number; child: ChildProcess }> {
  const script = fileURLToPath(new URL('./s3rver-child.mjs', import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, directory, ...buckets], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    if (out.includes('\n')) break;
  }
  const { port } = JSON.parse(out.split('\n')[0]!) as { port: number };
  return { port, child };
}

const jobsOf = async (t: TestSystem, uri: string) =>
  (await t.api.ok<{ jobs: JobState[] }>('GET', '/api/jobs?limit=200')).jobs.filter((j) => j.source_uri === uri);

describe('S3 source against s3rver on loopback', function () {
  this.timeout(180_000);
  let t: TestSystem;
  let server: ChildProcess | undefined;
  let dir: string;
  let clientConfig: S3ClientConfig;
  let s3: S3Client;
  const sources: S3Source[] = [];
  const put = (Bucket: string, Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: 'text/markdown' }));
  const open = (o: Partial<Parameters<typeof startS3Source>[1]> = {}) => {
    const s = startS3Source(t.system.runtime, { bucket: 'docs', prefix: 'manuals/', tag: 's3-docs', pollIntervalMs: 0, client: clientConfig, ...o });
    sources.push(s);
    return s;
  };

  before(async () => {
    t = await startTestSystem();
    dir = await mkdtemp(path.join(tmpdir(), 'ingest-s3rver-'));
    const started = await startS3rver(dir, ['docs', 'bulk']);
    server = started.child;
    const port = started.port;
    clientConfig = s3ClientConfigFromEnv({
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', S3_FORCE_PATH_STYLE: 'true',
    });
    s3 = new S3Client({ ...clientConfig, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  });
  after(async () => {
    for (const s of sources) await s.close();
    s3?.destroy();
    if (server && server.exitCode === null) {
      server.stdin!.end();
      await once(server, 'exit');
    }
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads endpoint, region, credentials and path style from AWS_* variables; parses s3:// URIs', () => {
    expect(clientConfig).to.deep.include({ region: 'us-east-1', forcePathStyle: true });
    expect(String(clientConfig.endpoint)).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(parseS3Uri('s3://docs/manuals/')).to.deep.equal({ bucket: 'docs', prefix: 'manuals/' });
    expect(parseS3Uri('s3://docs')).to.deep.equal({ bucket: 'docs', prefix: '' });
    expect(escapeKey('a\n\u001b[31mb\u202ec.md')).to.equal('a\\u000a\\u001b[31mb\\u202ec.md');
  });

  it('upload → DONE; overwrite → a new generation DONE; delete → DELETED and gone from both stores', async () => {
    const src = open();
    const key = 'manuals/install.md';
    const uri = sourceUri.s3('docs', key);
    const docId = documentId('s3-docs', uri);
    await put('docs', key, '# Install\n\nRun the installer to set up keyspace notifications.\n');
    await put('docs', 'manuals/notes.txt', 'not markdown');
    await put('docs', 'elsewhere/outside.md', '# Outside\n\nNot under the prefix.\n');

    const first = await src.pollOnce();
    expect(first).to.deep.include({ listed: 1, submitted: 1, tombstoned: 0, errors: 0 });
    const done = await jobOf(t, uri, 'DONE');
    expect(done.generation).to.equal(1);
    expect(await t.system.runtime.vectors.count(docId)).to.equal(1);
    expect((await src.pollOnce()).submitted, 'an unchanged ETag is not fetched again').to.equal(0);

    await put('docs', key, '# Install\n\nRun the installer, then restart the service to apply the settings.\n');
    expect((await src.pollOnce()).submitted).to.equal(1);
    const second = await jobOf(t, uri, 'DONE');
    expect(second.generation).to.equal(2);

    await s3.send(new DeleteObjectCommand({ Bucket: 'docs', Key: key }));
    expect((await src.pollOnce()).tombstoned).to.equal(1);
    await jobOf(t, uri, 'DELETED');
    expect(await t.system.runtime.graph.getDocument(docId)).to.equal(null);
    expect(await t.system.runtime.vectors.count(docId)).to.equal(0);
    expect(await t.system.runtime.redis.hexists(src.stateKey, key)).to.equal(0);
    const { jobs } = await t.api.ok<{ jobs: JobState[] }>('GET', '/api/jobs?limit=200');
    expect(jobs.some((j) => j.source_uri.endsWith('notes.txt') || j.source_uri.endsWith('outside.md'))).to.equal(false);
  });

  it('a restart (a new source on the same Redis) re-admits nothing; lost state is caught by the ledger', async () => {
    const key = 'manuals/restart.md';
    const uri = sourceUri.s3('docs', key);
    await put('docs', key, '# Restart\n\nThis document must be admitted exactly once.\n');
    const before = open();
    expect((await before.pollOnce()).submitted).to.equal(1);
    await jobOf(t, uri, 'DONE');
    await before.close();
    const jobsBefore = await jobsOf(t, uri);

    const after = open();
    const stats = await after.pollOnce();
    expect(stats).to.deep.include({ fetched: 0, submitted: 0, tombstoned: 0 });
    expect(await jobsOf(t, uri)).to.have.length(jobsBefore.length);

    // Without the persisted state the bytes are read again, but the ledger's unchanged-checksum skip admits nothing.
    await t.system.runtime.redis.del(after.stateKey);
    const again = await open().pollOnce();
    expect(again.submitted).to.equal(1);
    const latest = (await jobsOf(t, uri))[0]!;
    expect(latest.status).to.equal('SKIPPED');
    expect(await t.system.runtime.pipeline.ledger.latestGeneration(documentId('s3-docs', uri))).to.equal(1);
  });

  it('an object whose ETag changes between list and get is not ingested half-way and is taken on the next poll', async () => {
    const key = 'manuals/race.md';
    const uri = sourceUri.s3('docs', key);
    const newer = '# Race\n\nThe second version, written between the listing and the read.\n';
    await put('docs', key, '# Race\n\nThe first version, as listed.\n');
    let overwritten = false;
    const src = open({
      beforeGet: async (k) => {
        if (k === key && !overwritten) {
          overwritten = true;
          await put('docs', key, newer);
        }
      },
    });
    const first = await src.pollOnce();
    expect(first).to.deep.include({ changedDuringGet: 1, submitted: 0 });
    expect(await jobsOf(t, uri)).to.have.length(0);
    expect(await t.system.runtime.redis.hexists(src.stateKey, key)).to.equal(0);

    const second = await src.pollOnce();
    expect(second).to.deep.include({ changedDuringGet: 0, submitted: 1 });
    const done = await jobOf(t, uri, 'DONE');
    expect(done.checksum).to.equal(checksumOf(normaliseText(newer)));
  });

  it('while back-pressure has stopped admission the state does not advance; the key is taken afterwards', async () => {
    const key = 'manuals/pressure.md';
    const uri = sourceUri.s3('docs', key);
    await put('docs', key, '# Pressure\n\nArrives while admission is stopped.\n');
    const src = open();
    const redis = t.system.runtime.redis;
    await redis.hset(backpressureKeys.state, ADMISSION_FIELD, '1');
    try {
      expect(await src.pollOnce()).to.deep.include({ deferred: 1, submitted: 0 });
      expect(await redis.hexists(src.stateKey, key)).to.equal(0);
    } finally {
      await redis.hdel(backpressureKeys.state, ADMISSION_FIELD);
    }
    expect(await src.pollOnce()).to.deep.include({ deferred: 0, submitted: 1 });
    await jobOf(t, uri, 'DONE');
  });

  it('deleting most of a prefix at once is held by the mass-delete guard until approved', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `guarded/doc-${i}.md`);
    for (const k of keys) await put('docs', k, `# Guarded ${k}\n\nA document under the guarded prefix, number ${k}.\n`);
    const src = open({ prefix: 'guarded/', tag: 's3-guard' });
    expect((await src.pollOnce()).submitted).to.equal(6);
    for (const k of keys) await jobOf(t, sourceUri.s3('docs', k), 'DONE');

    for (const k of keys) await s3.send(new DeleteObjectCommand({ Bucket: 'docs', Key: k }));
    const held = await src.pollOnce();
    expect(held.tombstoned).to.equal(0);
    expect(held.held).to.be.a('string');
    expect(await t.system.runtime.redis.hlen(src.stateKey), 'held keys stay in the state').to.equal(6);
    expect((await jobsOf(t, sourceUri.s3('docs', keys[0]!)))[0]!.status).to.equal('DONE');

    const approved = await new TombstoneGuard(t.system.runtime.redis, t.system.runtime.pipeline).approve(held.held!);
    expect(approved?.jobs).to.have.length(6);
    const after = await src.pollOnce();
    expect(after).to.deep.include({ tombstoned: 6, held: null });
    expect(await t.system.runtime.redis.hlen(src.stateKey)).to.equal(0);
    for (const k of keys) await jobOf(t, sourceUri.s3('docs', k), 'DELETED');
  });

  it('1,000 keys across list pages (100 per page) are each admitted exactly once', async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `many/doc-${String(i).padStart(4, '0')}.md`);
    const pending = [...keys];
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let k = pending.shift(); k; k = pending.shift()) await put('bulk', k, `# Document ${k}\n\nBulk document ${k} about list pagination.\n`);
    }));
    const src = open({ bucket: 'bulk', prefix: 'many/', tag: 's3-bulk', pageSize: 100, concurrency: 16 });
    const stats = await src.pollOnce();
    expect(stats).to.deep.include({ listed: 1000, submitted: 1000, changedDuringGet: 0, errors: 0 });
    expect(stats.pages).to.be.at.least(10);
    expect(await t.system.runtime.redis.hlen(src.stateKey)).to.equal(1000);
    const ledger = t.system.runtime.pipeline.ledger;
    const docIds = await ledger.documentsOfTag('s3-bulk');
    expect(docIds).to.have.length(1000);
    for (const k of keys) expect(await ledger.latestGeneration(documentId('s3-bulk', sourceUri.s3('bulk', k)))).to.equal(1);
    const again = await src.pollOnce();
    expect(again).to.deep.include({ listed: 1000, fetched: 0, submitted: 0, tombstoned: 0 });
  });
});
