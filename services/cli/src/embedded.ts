import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { openRuntime, type AppConfig, type Logger, type Runtime } from '@ingest/shared';
import { startParseWorker } from '@ingest/parse';
import { startExtractWorker } from '@ingest/extract';
import { startEmbedWorker } from '@ingest/embed';
import { startGraphWorker } from '@ingest/graph';
import { startVectorWorker } from '@ingest/vector';
import { startVerifyWorker } from '@ingest/verify';
import { createApi, startBackpressure, startJanitor, type BackpressureController } from '@ingest/dashboard';
import { startHttpSource, startS3Source, startWatcher } from '@ingest/watcher';
import { startWatcherChild, type WatcherChild } from './watcher-child.js';

export interface EmbeddedSystem {
  readonly runtime: Runtime;
  readonly url: string;
  readonly janitor: { runOnce(): Promise<number> };
  /** The back-pressure controller of this process (null when disabled). */
  readonly backpressure: BackpressureController | null;
  /** The ingest-watcher child process (options.watcherProcess), else null. */
  readonly watcherChild: WatcherChild | null;
  close(): Promise<void>;
}

/**
 * The whole system in one process on the embedded default (DESIGN §3): six stage workers, the API
 * (the only way into LadybugDB and LanceDB for other processes) and the spool watcher.
 */
export interface EmbeddedOptions {
  /** Compute stages (parse, extract, embed) run in child processes started by the caller. */
  readonly computeElsewhere?: boolean;
  /**
   * The spool watcher runs in a child process (ingest-watcher) restarted when it dies (`up --processes`):
   * it can be killed on its own without taking the stores down (reliability F23).
   */
  readonly watcherProcess?: boolean;
  /** HTTP listing sources (`up --source https://…/listing.json`), each with its own tag. */
  readonly httpSources?: readonly { readonly url: string; readonly tag: string }[];
  /** S3 sources (`up --source s3://bucket/prefix` and config s3Source.sources), each with its own tag. */
  readonly s3Sources?: readonly { readonly bucket: string; readonly prefix: string; readonly tag: string }[];
}

export async function startEmbeddedSystem(config: AppConfig, token: string, logger?: Logger, options: EmbeddedOptions = {}): Promise<EmbeddedSystem> {
  const rt = await openRuntime(config, 'ingest', logger);
  const compute = options.computeElsewhere ? [] : [startParseWorker(rt), startExtractWorker(rt), startEmbedWorker(rt)];
  const workers = [...compute, startGraphWorker(rt), startVectorWorker(rt), startVerifyWorker(rt)];
  for (const w of workers) void w.worker.run();
  const api = createApi(rt, token);
  const server: Server = createServer(api.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.dashboard.port, config.dashboard.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.dashboard.host.includes(':') ? `[${config.dashboard.host}]` : config.dashboard.host;
  const watchers = options.watcherProcess ? [] : await Promise.all(config.watch.dirs.map((dir) => startWatcher(rt, { dir, tag: config.watch.tag, stableMs: config.watch.stableMs })));
  // The folders exist once `up` has started, as with the in-process watcher: a producer may write at once.
  if (options.watcherProcess) await Promise.all(config.watch.dirs.map((d) => mkdir(d, { recursive: true })));
  const watcherChild = options.watcherProcess && config.watch.dirs.length > 0
    ? startWatcherChild({
      dirs: config.watch.dirs.map((d) => path.resolve(d)),
      logger: rt.logger,
      env: { ...process.env, REDIS_URL: config.redis.url ?? '', INGEST_URL: `http://${host}:${port}`, INGEST_DASHBOARD_TOKEN: token, INGEST_DATA_DIR: config.dataDir },
    })
    : null;
  const httpSources = (options.httpSources ?? []).map((s) => startHttpSource(rt, { url: s.url, tag: s.tag, pollIntervalMs: config.httpSource?.pollIntervalMs ?? 5000 }));
  const s3Sources = (options.s3Sources ?? []).map((s) => startS3Source(rt, { ...s, pollIntervalMs: config.s3Source?.pollIntervalMs ?? 5000, suffixes: config.s3Source?.suffixes }));
  rt.metrics.watchers.set((watcherChild ? config.watch.dirs.length : watchers.length) + httpSources.length + s3Sources.length);
  const janitor = startJanitor(rt, config.janitor.intervalMs);
  const backpressure = await startBackpressure(rt);
  return {
    runtime: rt,
    janitor,
    backpressure,
    watcherChild,
    url: `http://${host}:${port}`,
    async close() {
      janitor.close();
      await watcherChild?.stop();
      await backpressure?.close();
      await Promise.all([...watchers, ...httpSources, ...s3Sources].map((w) => w.close()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all(workers.map((w) => w.close()));
      await api.close();
      await rt.close();
    },
  };
}
