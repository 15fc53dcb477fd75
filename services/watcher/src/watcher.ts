import { lstat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { watch } from 'chokidar';
import {
  DEFAULT_GUARD, describeError, Pipeline, escapeControls, reconcile, sourceUri as canonical, SourceReporter, sourceEventOf, TombstoneGuard, waitForAdmission,
  type Runtime,
} from '@ingest/shared';
import { admissibleFile, isCandidate, readSpoolFile, scanSpool, SpoolReadError, sweepParts, type SpoolFile } from './spool.js';

export interface WatcherOptions {
  readonly dir: string;
  readonly tag: string;
  readonly stableMs: number;
  /** `.part` files older than this are deleted (default config watch.partTtlMs, else 1 h). */
  readonly partTtlMs?: number;
  /** How often the `.part` sweep runs (default min(TTL, 1 min)); 0 = only through `sweepParts()`. */
  readonly sweepIntervalMs?: number;
  /** Reads of a file that keeps changing before it is given up on (default 5). */
  readonly readAttempts?: number;
  /** Test hook: runs after a file is opened and fstat'ed, before its bytes are read. */
  readonly beforeRead?: (file: string) => Promise<void>;
  /**
   * Rebuilds the tag's ledger from the graph before the start scan; returns the documents restored.
   * Default: in this process (it has the stores); a process without them goes through the API.
   */
  readonly rebuildLedger?: (tag: string) => Promise<number>;
}

export interface Watcher {
  close(): Promise<void>;
  /** The full rescan of start (new and changed files admitted, files gone tombstoned). */
  rescan(reason: string): Promise<void>;
  /** The chokidar error (and overflow) path: logs, counts, and rescans. */
  onWatcherError(error: unknown): Promise<void>;
  /** Deletes stale `.part` files now; returns the paths removed. */
  sweepParts(): Promise<string[]>;
  readonly reporter: SourceReporter;
}

/**
 * The fs source (DESIGN §8): a full rescan at start (new and changed files admitted, files gone since
 * tombstoned, unchanged left alone — the ledger decides), then chokidar events. Symlinks are never
 * followed; FIFOs and devices are refused before open; a file that changes while read is read again;
 * stale `.part` files are swept; a watcher error (or event overflow) triggers a full rescan.
 */
/** Size and mtime of a file, to tell whether it changed since it was read. */
const stampOf = async (file: string): Promise<string> => {
  const st = await lstat(file).catch(() => null);
  return st ? `${st.size}:${st.mtimeMs}` : 'gone';
};

/**
 * Waits until a plain file has not been modified for `stableMs` (at most 20 waits): the start scan reads
 * files directly, and one still being written must not be admitted half-written (its later change would
 * then start a second generation). `.ready` files are complete by contract; events come stable already.
 */
async function settled(file: string, stableMs: number): Promise<void> {
  if (stableMs <= 0 || file.endsWith('.ready')) return;
  for (let i = 0; i < 20; i++) {
    const st = await lstat(file).catch(() => null);
    const age = st ? Date.now() - st.mtimeMs : stableMs;
    if (age >= stableMs) return;
    await sleep(stableMs - age + 5);
  }
}

export async function startWatcher(rt: Runtime, o: WatcherOptions): Promise<Watcher> {
  const root = path.resolve(o.dir);
  const log = rt.logger.child({ source: 'fs', tag: escapeControls(o.tag) });
  const reporter = new SourceReporter(rt.redis, rt.metrics, { kind: 'fs', tag: o.tag, location: root });
  const shown = (file: string) => escapeControls(path.relative(root, file));
  const pending = new Set<string>();
  let closed = false;
  const partTtlMs = o.partTtlMs ?? rt.config.watch.partTtlMs ?? 3_600_000;

  const submit = async (f: SpoolFile) => {
    pending.add(f.path);
    reporter.setBacklog(pending.size);
    try {
      await waitForAdmission(rt.redis, rt.config.backpressure.sampleIntervalMs); // back-pressure: the file waits in the spool
      await settled(f.path, o.stableMs);
      const bytes = await readSpoolFile(f, { stableMs: o.stableMs, maxBytes: rt.config.admission.maxBytes, ...(o.readAttempts ? { attempts: o.readAttempts } : {}), ...(o.beforeRead ? { beforeRead: o.beforeRead } : {}) });
      let r = await rt.pipeline.submit({ bytes, sourceUri: f.sourceUri, tag: o.tag, contentType: f.contentType });
      // Another submitter (a watcher killed mid-admission, F23) holds this content's admission lease:
      // submit again once it lapses, and the admission is finished under the same job id.
      for (let i = 0; i < 20 && r.reason === Pipeline.ADMITTING && !closed; i++) {
        await sleep(Math.max(50, rt.pipeline.leaseMs / 4));
        r = await rt.pipeline.submit({ bytes, sourceUri: f.sourceUri, tag: o.tag, contentType: f.contentType });
      }
      reporter.event(sourceEventOf(r.status));
      log.info('spool file submitted', { file: shown(f.path), job_id: r.job_id, status: r.status });
    } catch (error) {
      if (error instanceof SpoolReadError && error.code === 'TOO_LARGE') {
        const r = await rt.pipeline.refuse({ sourceUri: f.sourceUri, tag: o.tag, contentType: f.contentType }, { status: 'REJECTED', code: 'TOO_LARGE', message: error.message });
        reporter.event('rejected');
        log.warn('spool file refused: over the size cap', { file: shown(f.path), job_id: r.job_id });
      } else if (error instanceof SpoolReadError && error.code === 'NOT_REGULAR') {
        reporter.event('rejected');
        log.warn('spool file refused: not a regular file', { file: shown(f.path) });
      } else if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        log.info('spool file gone before it was read', { file: shown(f.path) });
      } else {
        const d = describeError(error);
        reporter.error(`${shown(f.path)}: ${d.message}`);
        log.error('spool file not submitted', { file: shown(f.path), ...d });
      }
    } finally {
      pending.delete(f.path);
      reporter.setBacklog(pending.size);
    }
  };
  const tombstone = async (file: string) => {
    try {
      const r = await rt.pipeline.tombstone(canonical.file(file), o.tag);
      reporter.event('deleted');
      log.info('spool file removed', { file: shown(file), job_id: r.job_id, status: r.status });
    } catch (error) {
      reporter.error(describeError(error).message);
      log.error('tombstone not submitted', { file: shown(file), ...describeError(error) });
    }
  };

  /** `seen` (the start scan) records each file's size and mtime as it was after its submission. */
  const fullScan = async (seen?: Map<string, string>) => {
    const present = await scanSpool(root);
    reporter.setBacklog(present.length);
    const presentUris = new Set(present.map((f) => f.sourceUri));
    for (const f of present) {
      await submit(f);
      seen?.set(f.path, await stampOf(f.path));
    }
    const prefix = `${canonical.file(root)}/`;
    const gone: string[] = [];
    for (const docId of await rt.pipeline.ledger.documentsOfTag(o.tag)) {
      const entry = await rt.pipeline.ledger.get(docId);
      if (entry?.sourceUri.startsWith(prefix) && entry.completedGeneration !== null && !presentUris.has(entry.sourceUri)) gone.push(entry.sourceUri);
    }
    // Files gone since the last scan pass the mass-delete guard (DESIGN §4): too many at once are held.
    if (gone.length > 0) {
      try {
        const outcome = await new TombstoneGuard(rt.redis, rt.pipeline, rt.config.deleteGuard ?? DEFAULT_GUARD).apply({ source: canonical.file(root), tag: o.tag, sourceUris: gone });
        reporter.event('deleted', outcome.held ? 0 : outcome.jobs.length);
        if (outcome.held) log.warn('deletions held by the mass-delete guard', { scan_id: outcome.scan.scan_id, count: outcome.scan.source_uris.length });
      } catch (error) {
        reporter.error(describeError(error).message);
        log.error('tombstones not submitted', describeError(error));
      }
    }
    reporter.scanned(pending.size);
    return present.length;
  };

  // Scans never overlap: a rescan waits for the one before.
  let scans: Promise<unknown> = Promise.resolve();
  const rescan = (reason: string): Promise<void> => {
    const p = scans.then(async () => {
      reporter.event('rescan');
      log.info('full rescan of the spool folder', { reason });
      await fullScan();
    });
    scans = p.catch((error: unknown) => {
      reporter.error(describeError(error).message);
      log.error('rescan failed', describeError(error));
    });
    return p;
  };
  const onWatcherError = async (error: unknown) => {
    const d = describeError(error);
    reporter.error(`watcher: ${d.message}`);
    log.error('watcher error; rescanning', d);
    await rescan('watcher error').catch(() => undefined);
  };

  // A Redis that came back empty has lost the ledger: rebuild it from the graph first, so files that
  // completed before are recognised as unchanged instead of being ingested again (DESIGN §4).
  const rebuilt = o.rebuildLedger ? await o.rebuildLedger(o.tag) : (await reconcile(rt, o.tag, 'ledger')).problems.length;
  if (rebuilt > 0) log.warn('ledger rebuilt from the graph', { documents: rebuilt });
  await sweepParts(root, partTtlMs).catch(() => []);
  const seen = new Map<string, string>();
  const startScan = fullScan(seen);
  scans = startScan.catch(() => undefined);
  const files = await startScan;

  const sweep = async () => {
    const removed = await sweepParts(root, partTtlMs);
    for (const f of removed) log.info('stale .part file deleted', { file: shown(f), ttl_ms: partTtlMs });
    return removed;
  };
  const sweepEvery = o.sweepIntervalMs ?? Math.min(partTtlMs, 60_000);
  const sweepTimer = sweepEvery > 0 ? setInterval(() => void sweep().catch((e: unknown) => log.warn('.part sweep failed', describeError(e))), sweepEvery).unref() : undefined;

  const watcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    awaitWriteFinish: o.stableMs > 0 ? { stabilityThreshold: o.stableMs, pollInterval: Math.max(20, Math.round(o.stableMs / 4)) } : false,
  });
  const onFile = (file: string) => {
    void admissibleFile(root, file).then((f) => {
      if (f) return submit(f);
      if (isCandidate(file)) {
        reporter.event('rejected');
        log.warn('spool entry refused (not a regular file inside the root)', { file: shown(file) });
      }
      return undefined;
    });
  };
  watcher.on('add', onFile);
  watcher.on('change', onFile);
  watcher.on('unlink', (file: string) => {
    if (isCandidate(file)) void tombstone(file);
  });
  watcher.on('error', (error: unknown) => void onWatcherError(error));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  // Catch-up: a file that landed (or changed) after the start scan read the folder and before the watch
  // was ready raised no event (ignoreInitial) — without this it would wait for the next restart
  // (reliability F23: files keep landing while a killed watcher restarts).
  const late = await scanSpool(root).catch(() => []);
  for (const f of late) if (seen.get(f.path) !== (await stampOf(f.path))) await submit(f);
  log.info('watching spool folder', { files });
  return {
    reporter,
    rescan,
    onWatcherError,
    sweepParts: sweep,
    async close() {
      closed = true;
      if (sweepTimer) clearInterval(sweepTimer);
      await watcher.close();
      await scans;
      await reporter.flush();
    },
  };
}
