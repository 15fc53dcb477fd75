// Chaos (issue 6, catalogue F23): kill -9 the spool watcher process (ingest-watcher, a child of
// `up --processes`) while 200 files land in the spool; `up` restarts it, its start scan admits what it
// missed, and every document is admitted exactly once (generation 1 only) and ends DONE. A kill while
// nothing lands: the restart admits nothing new (nothing complete is re-ingested).
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { documentId, keys, sourceUri, type JobState } from '@ingest/shared';
import { duplicatesOf, readState } from './golden-state.js';
import { startChaosSystem, type ChaosSystem } from './system.js';

const FILES = 200;
const TAG = 'default'; // config watch.tag
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Even files arrive as `.part` renamed to `.md.ready` (producer protocol), odd ones as plain `.md`. */
const fileOf = (dir: string, i: number) => path.join(dir, i % 2 === 0 ? `w-${i}.md.ready` : `w-${i}.md`);
const textOf = (i: number) => `# Spool file ${i}\n\nLanded while the watcher was killed; run \`redis-cli info ${i}\`.\n\n## Part two of ${i}\n\nMore text ${i}.\n`;

async function land(dir: string, i: number): Promise<void> {
  const file = fileOf(dir, i);
  if (i % 2 === 0) {
    await writeFile(`${file.slice(0, -'.ready'.length)}.part`, textOf(i));
    await rename(`${file.slice(0, -'.ready'.length)}.part`, file);
  } else await writeFile(file, textOf(i));
}

/** Every job state in the recent-jobs index for the tag (ingest ops), read straight from Redis. */
async function jobStates(redis: Redis): Promise<{ job_id: string; source_uri: string; status: string; generation: number; reason: string }[]> {
  const ids = await redis.zrange(keys.recentJobs, 0, -1);
  const rows = await Promise.all(ids.map(async (id) => ({ id, h: await redis.hgetall(keys.state(id)) })));
  return rows.filter((r) => r.h.tag === TAG && r.h.op === 'ingest')
    .map((r) => ({ job_id: r.id, source_uri: r.h.source_uri!, status: r.h.status!, generation: Number(r.h.generation), reason: r.h.reason ?? '' }));
}

describe('chaos: kill -9 the spool watcher process (F23)', function () {
  this.timeout(120_000);
  let sys: ChaosSystem;
  let redis: Redis;
  let watch: string;
  const docIds = Array.from({ length: FILES }, (_, i) => i);

  before(async () => {
    sys = await startChaosSystem();
    redis = new Redis(sys.redisUrl, { maxRetriesPerRequest: 1 });
    watch = path.join(sys.dir, 'watch');
  });
  after(async () => {
    redis?.disconnect();
    await sys?.stop();
  });

  const admitted = () => redis.scard(keys.tagDocuments(TAG));
  /** Resolves once the watcher's source status shows a start scan that ended after `t`. */
  const scannedAfter = async (t: number) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { sources } = await sys.api.ok<{ sources: { kind: string; location: string; last_scan_at: string | null }[] }>('GET', '/api/sources');
      const fs = sources.find((s) => s.kind === 'fs' && s.location === watch);
      if (fs?.last_scan_at && Date.parse(fs.last_scan_at) > t) return;
      if (Date.now() > deadline) throw new Error('the watcher never finished its start scan');
      await sleep(50);
    }
  };
  /** The fs source's status (errors, last error, backlog) for failure messages. */
  const sourceStatus = async () => JSON.stringify((await sys.api.ok<{ sources: { kind: string }[] }>('GET', '/api/sources')).sources.filter((x) => x.kind === 'fs'));
  const idOf = (i: number) => documentId(TAG, sourceUri.file(fileOf(watch, i)));

  it('killed while 200 files land: the replacement admits the rest, each document exactly once, all DONE', async () => {
    const victim = await sys.waitForChild('ingest-watcher');
    await scannedAfter(0); // the watcher is up: its start scan is done
    const started = Date.now();
    // The producer: one file every 10 ms; the kill happens in the middle, once some were admitted.
    let written = 0;
    const producer = (async () => {
      for (let i = 0; i < FILES; i++) {
        await land(watch, i);
        written = i + 1;
        await sleep(10);
      }
    })();
    let admittedBeforeKill = 0;
    while ((admittedBeforeKill = await admitted()) < 20) {
      if (Date.now() - started > 30_000) throw new Error(`the watcher admitted ${admittedBeforeKill} files in 30 s; source: ${await sourceStatus()}`);
      await sleep(5);
    }
    process.kill(victim, 'SIGKILL');
    const killedAt = Date.now();
    const writtenAtKill = written;
    // Admissions the kill cut between ledger entry and flow (they still hold their lease): the replacement resumes them.
    const cut = (await Promise.all(docIds.map((i) => redis.hget(keys.ledger(idOf(i)), 'admitting_job')))).filter(Boolean).length;
    expect(writtenAtKill, 'files were still landing when the watcher died').to.be.lessThan(FILES);
    const replacement = await sys.waitForChild('ingest-watcher', victim);
    const restartedMs = Date.now() - killedAt;
    await producer;
    const states = await sys.waitAll(docIds.map((i) => `${idOf(i)}-g1`), 60_000).catch(async (error: unknown) => {
      // Name what is missing: the file, its ledger entry and its job state.
      const missing = await Promise.all(docIds.map(async (i) => ({ file: path.basename(fileOf(watch, i)), ledger: await redis.hgetall(keys.ledger(idOf(i))), state: await redis.hget(keys.state(`${idOf(i)}-g1`), 'status') })));
      throw new Error(`${(error as Error).message}\nsource: ${await sourceStatus()}\n${missing.filter((m) => m.state !== 'DONE').map((m) => JSON.stringify(m)).join('\n')}`);
    });
    const doneMs = Date.now() - killedAt;
    expect(states.filter((s) => s.status !== 'DONE').map((s) => `${s.job_id} ${s.status} ${JSON.stringify(s.error)}`)).to.deep.equal([]);

    // Exactly once: one generation per document, one ledger entry each, no second job.
    expect(await admitted()).to.equal(FILES);
    const generations = await Promise.all(docIds.map((i) => redis.hget(keys.ledger(idOf(i)), 'generation')));
    expect(generations.filter((g) => g !== '1')).to.deep.equal([]);
    const jobs = await jobStates(redis);
    const admittedJobs = jobs.filter((j) => j.generation > 0);
    expect(admittedJobs.length).to.equal(FILES);
    expect(admittedJobs.filter((j) => !j.job_id.endsWith('-g1')).map((j) => j.job_id)).to.deep.equal([]);
    const skipped = new Map<string, number>();
    for (const j of jobs.filter((x) => x.status === 'SKIPPED')) skipped.set(j.source_uri, (skipped.get(j.source_uri) ?? 0) + 1);
    expect([...skipped].filter(([, n]) => n > 1), 'nothing SKIPPED twice').to.deep.equal([]);
    expect(jobs.filter((j) => j.generation === 0 && j.status !== 'SKIPPED').map((j) => `${j.job_id} ${j.status} ${j.reason}`)).to.deep.equal([]);
    const state = await readState(sys.api, TAG);
    expect(state.documents.length).to.equal(FILES);
    expect(duplicatesOf(state)).to.deep.equal({ documents: [], sections: [], points: [] });
    console.log(`      [chaos] ingest-watcher pid ${victim} killed with ${writtenAtKill} of ${FILES} files landed, ${admittedBeforeKill} admitted (${cut} cut mid-admission) → pid ${replacement} in ${restartedMs} ms; `
      + `all ${FILES} DONE ${doneMs} ms after the kill (${Date.now() - started} ms in all); generations g1 only, ${skipped.size} skipped once as unchanged, duplicates 0`);
  });

  it('killed while nothing lands: the restart admits nothing new and re-ingests nothing complete', async () => {
    const before = await jobStates(redis);
    const victim = await sys.waitForChild('ingest-watcher');
    process.kill(victim, 'SIGKILL');
    const killedAt = Date.now();
    const replacement = await sys.waitForChild('ingest-watcher', victim);
    await scannedAfter(killedAt);
    const scannedMs = Date.now() - killedAt;
    const after = await jobStates(redis);
    const known = new Set(before.map((j) => j.job_id));
    const added = after.filter((j) => !known.has(j.job_id));
    // The scan saw all 200 files: each one SKIPPED as unchanged, none admitted again.
    expect(added.filter((j) => !(j.status === 'SKIPPED' && j.reason === 'unchanged')).map((j) => `${j.job_id} ${j.status}`)).to.deep.equal([]);
    expect(new Set(added.map((j) => j.source_uri)).size).to.equal(FILES);
    expect(added.length).to.equal(FILES);
    const generations = await Promise.all(docIds.map((i) => redis.hget(keys.ledger(idOf(i)), 'generation')));
    expect(generations.filter((g) => g !== '1')).to.deep.equal([]);
    const { jobs } = await sys.api.ok<{ jobs: JobState[] }>('POST', '/api/jobs/batch', { ids: docIds.map((i) => `${idOf(i)}-g2`) });
    expect(jobs).to.deep.equal([]);
    console.log(`      [chaos] idle ingest-watcher pid ${victim} killed → pid ${replacement}; start scan done ${scannedMs} ms after the kill; ${added.length} files SKIPPED unchanged, 0 admitted again`);
  });
});
