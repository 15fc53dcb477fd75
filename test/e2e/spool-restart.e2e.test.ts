import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createLogger, documentId, FINAL_STATUSES, loadConfig, sourceUri, type JobState } from '@ingest/shared';
import { startEmbeddedSystem, type EmbeddedSystem } from '../../services/cli/src/embedded.js';
import { ApiClient } from '../../services/cli/src/client.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

describe('spool watcher restart: full rescan against the ledger', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let dir: string;
  let watch: string;
  let system: EmbeddedSystem | null = null;

  const start = async () => {
    const config = loadConfig({
      env: {},
      ingest: { programs: [], tags: {} },
      overrides: {
        dataDir: path.join(dir, 'data'), reportsDir: path.join(dir, 'reports'), redis: { url: redis.url },
        dashboard: { host: '127.0.0.1', port: 0 }, watch: { dirs: [watch], tag: 'spool', stableMs: 50 },
        logging: { level: 'silent', format: 'json' },
      },
    });
    system = await startEmbeddedSystem(config, 't', createLogger({ service: 'test', level: 'silent', format: 'json' }));
    return new ApiClient({ url: system.url, token: 't' });
  };
  /** Every job of the run has ended (the watcher admits during start, so they exist by now). */
  const settle = async (api: ApiClient): Promise<JobState[]> => {
    for (;;) {
      const { jobs } = await api.ok<{ jobs: JobState[] }>('GET', '/api/jobs?limit=100');
      if (jobs.every((j) => FINAL_STATUSES.has(j.status))) return jobs;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const latest = (jobs: JobState[], file: string) => jobs.find((j) => j.source_uri === sourceUri.file(path.join(watch, file)));

  before(async () => {
    redis = await startTestRedis();
    dir = await mkdtemp(path.join(tmpdir(), 'ingest-restart-'));
    watch = path.join(dir, 'watch');
    await mkdir(watch, { recursive: true });
  });
  after(async () => {
    await system?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('admits new and changed files, tombstones vanished ones, leaves unchanged ones alone', async () => {
    for (const name of ['keep', 'change', 'vanish']) await writeFile(path.join(watch, `${name}.md`), `# ${name}\n\nOriginal body of ${name}.\n`);
    let api = await start();
    const first = await settle(api);
    expect(first.filter((j) => j.status === 'DONE')).to.have.length(3);
    await system!.close();
    system = null;

    // While nobody watches: one edit, one removal, one new file.
    await writeFile(path.join(watch, 'change.md'), '# change\n\nEdited body.\n');
    await rm(path.join(watch, 'vanish.md'));
    await writeFile(path.join(watch, 'new.md'), '# new\n\nArrived while the system was down.\n');

    api = await start();
    const jobs = await settle(api);
    expect(latest(jobs, 'keep.md')).to.deep.include({ status: 'SKIPPED', reason: 'unchanged' });
    expect(latest(jobs, 'change.md')).to.deep.include({ status: 'DONE', generation: 2 });
    expect(latest(jobs, 'vanish.md')).to.deep.include({ status: 'DELETED' });
    expect(latest(jobs, 'new.md')).to.deep.include({ status: 'DONE', generation: 1 });
    const gone = documentId('spool', sourceUri.file(path.join(watch, 'vanish.md')));
    expect(await system!.runtime.vectors.count(gone)).to.equal(0);
    expect(await system!.runtime.graph.getDocument(gone)).to.equal(null);
  });

  it('after Redis comes back empty, the ledger is rebuilt from the graph and nothing complete is ingested again', async () => {
    await system!.close();
    system = null;
    const { Redis } = await import('ioredis');
    const r = new Redis(redis.url);
    await r.flushall();
    r.disconnect();
    const api = await start();
    const jobs = await settle(api);
    for (const file of ['keep.md', 'change.md', 'new.md']) expect(latest(jobs, file), file).to.deep.include({ status: 'SKIPPED', reason: 'unchanged' });
    expect(jobs.filter((j) => j.status === 'DONE')).to.have.length(0);
  });
});
