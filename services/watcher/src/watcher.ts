import path from 'node:path';
import { watch } from 'chokidar';
import { DEFAULT_GUARD, describeError, reconcile, sourceUri as canonical, TombstoneGuard, waitForAdmission, type Runtime } from '@ingest/shared';
import { admissibleFile, isCandidate, readSpoolFile, scanSpool, type SpoolFile } from './spool.js';

export interface WatcherOptions {
  readonly dir: string;
  readonly tag: string;
  readonly stableMs: number;
}

/**
 * The fs source (DESIGN §8): a full rescan at start (new and changed files admitted, files gone since
 * tombstoned, unchanged left alone — the ledger decides), then chokidar events. Symlinks are never
 * followed.
 */
export async function startWatcher(rt: Runtime, o: WatcherOptions) {
  const root = path.resolve(o.dir);
  const log = rt.logger.child({ source: 'fs', tag: o.tag });

  const submit = async (f: SpoolFile) => {
    try {
      await waitForAdmission(rt.redis, rt.config.backpressure.sampleIntervalMs); // back-pressure: the file waits in the spool
      const r = await rt.pipeline.submit({ bytes: await readSpoolFile(f), sourceUri: f.sourceUri, tag: o.tag, contentType: f.contentType });
      log.info('spool file submitted', { job_id: r.job_id, status: r.status });
    } catch (error) {
      log.error('spool file not submitted', describeError(error));
    }
  };
  const tombstone = async (uri: string) => {
    try {
      const r = await rt.pipeline.tombstone(uri, o.tag);
      log.info('spool file removed', { job_id: r.job_id, status: r.status });
    } catch (error) {
      log.error('tombstone not submitted', describeError(error));
    }
  };

  // A Redis that came back empty has lost the ledger: rebuild it from the graph first, so files that
  // completed before are recognised as unchanged instead of being ingested again (DESIGN §4).
  const rebuilt = await reconcile(rt, o.tag, 'ledger');
  if (rebuilt.problems.length > 0) log.warn('ledger rebuilt from the graph', { documents: rebuilt.problems.length });
  const present = await scanSpool(root);
  const presentUris = new Set(present.map((f) => f.sourceUri));
  for (const f of present) await submit(f);
  const prefix = `${canonical.file(root)}/`;
  const gone: string[] = [];
  for (const docId of await rt.pipeline.ledger.documentsOfTag(o.tag)) {
    const entry = await rt.pipeline.ledger.get(docId);
    if (entry?.sourceUri.startsWith(prefix) && entry.completedGeneration !== null && !presentUris.has(entry.sourceUri)) gone.push(entry.sourceUri);
  }
  // Files gone since the last run pass the mass-delete guard (DESIGN §4): too many at once are held.
  if (gone.length > 0) {
    try {
      const outcome = await new TombstoneGuard(rt.redis, rt.pipeline, rt.config.deleteGuard ?? DEFAULT_GUARD).apply({ source: canonical.file(root), tag: o.tag, sourceUris: gone });
      if (outcome.held) log.warn('deletions held by the mass-delete guard', { scan_id: outcome.scan.scan_id, count: outcome.scan.source_uris.length });
    } catch (error) {
      log.error('tombstones not submitted', describeError(error));
    }
  }

  const watcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    awaitWriteFinish: o.stableMs > 0 ? { stabilityThreshold: o.stableMs, pollInterval: Math.max(20, Math.round(o.stableMs / 4)) } : false,
  });
  const onFile = (file: string) => {
    void admissibleFile(root, file).then((f) => (f ? submit(f) : undefined));
  };
  watcher.on('add', onFile);
  watcher.on('change', onFile);
  watcher.on('unlink', (file: string) => {
    if (isCandidate(file)) void tombstone(canonical.file(file));
  });
  watcher.on('error', (error: unknown) => log.error('watcher error', describeError(error)));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  log.info('watching spool folder', { files: present.length });
  return { close: () => watcher.close() };
}
