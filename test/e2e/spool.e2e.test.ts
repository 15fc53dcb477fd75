import { rename, rm, writeFile, symlink, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { documentId, sourceUri, type JobState } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { waitForSourceJob } from '../helpers/wait.js';

/** Waits for the newest job of a source to reach `status` (the watcher admits on its own; we observe). */
const jobOf = (t: TestSystem, uri: string, status: string, timeoutMs?: number): Promise<JobState> => waitForSourceJob(t.api, uri, status, timeoutMs);

describe('spool folder watcher (fs source)', function () {
  this.timeout(120_000);
  let t: TestSystem;
  before(async () => { t = await startTestSystem({ watch: true }); });
  after(async () => t?.stop());

  it('a file dropped in the spool reaches DONE with a ready report; removing it deletes it from both stores', async () => {
    const file = path.join(t.watchDir, 'dropped.md');
    await writeFile(file, '# Dropped\n\nA document that arrived through the spool folder about keyspace notifications.\n');
    const uri = sourceUri.file(file);
    const done = await jobOf(t, uri, 'DONE');
    const report = await t.api.ok<{ drift_pct: number; ready_for_queries: boolean }>('GET', `/api/jobs/${done.job_id}/report`);
    expect(report).to.deep.include({ drift_pct: 0, ready_for_queries: true });
    const docId = documentId('spool', uri);
    expect(await t.system.runtime.vectors.count(docId)).to.equal(1);

    await rm(file);
    await jobOf(t, uri, 'DELETED');
    expect(await t.system.runtime.graph.getDocument(docId)).to.equal(null);
    expect(await t.system.runtime.vectors.count(docId)).to.equal(0);
  });

  it('takes name.md.ready (renamed from .part) under the name without .ready', async () => {
    const part = path.join(t.watchDir, 'atomic.md.part');
    await writeFile(part, '# Atomic\n\nWritten as a part file and renamed when complete.\n');
    await rename(part, path.join(t.watchDir, 'atomic.md.ready'));
    const done = await jobOf(t, sourceUri.file(path.join(t.watchDir, 'atomic.md')), 'DONE');
    expect(done.source_uri.endsWith('/atomic.md')).to.equal(true);
  });

  it('never follows a symlink out of the spool', async () => {
    const outside = path.join(t.dir, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'secret.md'), '# Secret\n\nMust never be ingested.\n');
    await symlink(path.join(outside, 'secret.md'), path.join(t.watchDir, 'link.md'));
    const marker = path.join(t.watchDir, 'after-link.md');
    await writeFile(marker, '# After link\n\nArrives after the symlink; once it is DONE the link had its chance.\n');
    await jobOf(t, sourceUri.file(marker), 'DONE');
    const { jobs } = await t.api.ok<{ jobs: JobState[] }>('GET', '/api/jobs?limit=200');
    expect(jobs.some((j) => j.source_uri.endsWith('/link.md'))).to.equal(false);
  });
});
