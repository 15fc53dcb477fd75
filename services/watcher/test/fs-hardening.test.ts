import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { readSources, sourceUri, type Submission } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../../../test/helpers/system.js';
import { admissibleFile, readSpoolFile, SpoolReadError } from '../src/spool.js';
import { startWatcher, type Watcher } from '../src/watcher.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, sleep(ms).then(() => { throw new Error(`${what} did not finish within ${ms} ms (hung?)`); })]);

/** True when some process holds the FIFO open for reading (a non-blocking open for writing then succeeds). */
async function fifoHasReader(fifo: string): Promise<boolean> {
  try {
    const fh = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    await fh.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw error;
  }
}

describe('fs source hardening (issue 4 item 3) and per-source observability', function () {
  this.timeout(120_000);
  let t: TestSystem;
  const watchers: Watcher[] = [];
  const submitted: { uri: string; text: string }[] = [];
  let n = 0;

  const counter = async (kind: string, event: string): Promise<number> => {
    const m = await t.system.runtime.metrics.registry.getSingleMetric('ingest_watcher_events_total')!.get();
    return m.values.find((v) => v.labels.source_kind === kind && v.labels.event === event)?.value ?? 0;
  };
  async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  }
  const newDir = async () => {
    const dir = path.join(t.dir, `spool-${++n}`);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  const start = async (dir: string, extra: Partial<Parameters<typeof startWatcher>[1]> = {}) => {
    const w = await within(startWatcher(t.system.runtime, { dir, tag: `fs${n}`, stableMs: 50, sweepIntervalMs: 0, ...extra }), 20_000, 'startWatcher');
    watchers.push(w);
    return w;
  };

  before(async () => {
    t = await startTestSystem();
    const pipeline = t.system.runtime.pipeline;
    const original = pipeline.submit.bind(pipeline);
    pipeline.submit = async (s: Submission) => {
      submitted.push({ uri: s.sourceUri, text: Buffer.from(s.bytes).toString('utf8') });
      return original(s);
    };
  });
  after(async () => {
    for (const w of watchers) await w.close();
    await t?.stop();
  });

  it('a FIFO named x.md is refused before open: start does not hang, the FIFO never gets a reader, the counter says rejected', async () => {
    const dir = await newDir();
    const early = path.join(dir, 'x.md');
    execFileSync('mkfifo', [early]);
    await writeFile(path.join(dir, 'ok.md'), '# Fine\n\nA regular file.\n');
    const before = await counter('fs', 'rejected');
    await start(dir);
    expect(submitted.map((s) => s.uri)).to.include(sourceUri.file(path.join(dir, 'ok.md')));
    expect(submitted.map((s) => s.uri)).to.not.include(sourceUri.file(early));

    const late = path.join(dir, 'late.md');
    execFileSync('mkfifo', [late]);
    await until('the late FIFO to be refused', async () => (await counter('fs', 'rejected')) > before);
    expect(await fifoHasReader(early)).to.equal(false);
    expect(await fifoHasReader(late)).to.equal(false);
    expect(await admissibleFile(dir, late)).to.equal(null);
    // Even handed to the reader directly (a FIFO swapped in after the lstat), it is refused without blocking.
    const err = await within(readSpoolFile({ path: late, sourceUri: sourceUri.file(late), contentType: 'text/markdown' }).then(() => null, (e: unknown) => e), 5000, 'readSpoolFile(fifo)');
    expect(err).to.be.instanceOf(SpoolReadError);
    expect((err as SpoolReadError).code).to.equal('NOT_REGULAR');
    expect(submitted.map((s) => s.uri)).to.not.include(sourceUri.file(late));
  });

  it('a file rewritten while it is read is read again: only its final content is ingested', async () => {
    const dir = await newDir();
    const file = path.join(dir, 'moving.md');
    const final = '# Final\n\nThe complete, final version of the document, longer than the first.\n';
    await writeFile(file, '# Half\n\nwritten');
    let reads = 0;
    await start(dir, {
      beforeRead: async (f) => {
        if (f !== file || reads++ > 0) return;
        await sleep(20);
        await writeFile(file, final); // the producer rewrites it in the middle of the read
      },
    });
    const mine = submitted.filter((s) => s.uri === sourceUri.file(file));
    expect(mine.map((s) => s.text)).to.deep.equal([final]);
    expect(reads).to.be.greaterThanOrEqual(2);
  });

  it('a file that never stops changing is given up on with an error, never submitted', async () => {
    const dir = await newDir();
    const file = path.join(dir, 'busy.md');
    await writeFile(file, '# Busy\n');
    let i = 0;
    const w = await start(dir, { readAttempts: 3, beforeRead: async () => { await sleep(15); await writeFile(file, `# Busy\n${'x'.repeat(++i)}\n`); } });
    expect(submitted.filter((s) => s.uri === sourceUri.file(file))).to.deep.equal([]);
    expect(i).to.equal(3);
    await w.reporter.flush();
    const status = (await readSources(t.system.runtime.redis)).find((s) => s.id === w.reporter.id)!;
    expect(status.errors).to.equal(1);
    expect(status.last_error).to.match(/kept changing/);
  });

  it('stale .part files older than the TTL are swept; fresh ones stay', async () => {
    const dir = await newDir();
    await mkdir(path.join(dir, 'sub'));
    const stale = path.join(dir, 'sub', 'upload.md.part');
    const fresh = path.join(dir, 'fresh.md.part');
    await writeFile(stale, 'abandoned');
    await writeFile(fresh, 'in progress');
    const w = await start(dir, { partTtlMs: 60_000 });
    expect((await readdir(dir, { recursive: true })).sort()).to.include.members(['fresh.md.part', path.join('sub', 'upload.md.part')]);
    const old = new Date(Date.now() - 2 * 60_000);
    await utimes(stale, old, old);
    expect(await w.sweepParts()).to.deep.equal([stale]);
    const left = await readdir(dir, { recursive: true });
    expect(left).to.include('fresh.md.part');
    expect(left).to.not.include(path.join('sub', 'upload.md.part'));
    expect(submitted.map((s) => s.uri).filter((u) => u.endsWith('.part'))).to.deep.equal([]);
  });

  it('a watcher error triggers a full rescan (the start path): counted, recorded, every file offered again', async () => {
    const dir = await newDir();
    await writeFile(path.join(dir, 'a.md'), '# A\n\nalpha\n');
    const w = await start(dir);
    const rescans = await counter('fs', 'rescan');
    const errors = await counter('fs', 'error');
    const offered = submitted.length;
    await w.onWatcherError(Object.assign(new Error('inotify event queue overflow'), { code: 'EOVERFLOW' }));
    expect(await counter('fs', 'rescan')).to.equal(rescans + 1);
    expect(await counter('fs', 'error')).to.equal(errors + 1);
    expect(submitted.slice(offered).map((s) => s.uri)).to.deep.equal([sourceUri.file(path.join(dir, 'a.md'))]);
    await w.reporter.flush();
    const status = (await readSources(t.system.runtime.redis)).find((s) => s.id === w.reporter.id)!;
    expect(status).to.deep.include({ kind: 'fs', location: dir, backlog: 0, errors: 1 });
    expect(status.last_error).to.match(/overflow/);
    expect(status.last_scan_at).to.be.a('string');
  });

  it('ingest_watcher_events_total counts admitted, unchanged and deleted fs events', async () => {
    const dir = await newDir();
    const admitted = await counter('fs', 'admitted');
    const unchanged = await counter('fs', 'unchanged');
    const deleted = await counter('fs', 'deleted');
    await writeFile(path.join(dir, 'c.md'), '# C\n\ncharlie\n');
    const w = await start(dir);
    expect(await counter('fs', 'admitted')).to.equal(admitted + 1);
    const uri = sourceUri.file(path.join(dir, 'c.md'));
    await until('c.md to be DONE', async () => {
      const e = await t.system.runtime.pipeline.ledgerEntryOf(`fs${n}`, uri);
      return e?.status === 'DONE' && e.inFlight === null;
    }, 60_000);
    await w.rescan('test');
    expect(await counter('fs', 'unchanged')).to.equal(unchanged + 1);
    const { rm } = await import('node:fs/promises');
    await rm(path.join(dir, 'c.md'));
    await until('the deletion to be counted', async () => (await counter('fs', 'deleted')) === deleted + 1);
  });
});
