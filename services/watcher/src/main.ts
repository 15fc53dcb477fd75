/**
 * Composition root of the spool watcher as its own process (DESIGN §8): watches every configured folder
 * (config/compose.yaml mounts the spool at /spool) and admits what lands there.
 */
import { loadConfig, openRuntime, superviseService } from '@ingest/shared';
import { startWatcher } from './index.js';

const config = loadConfig();
const rt = await openRuntime(config, 'watcher');
const watchers = await Promise.all(
  config.watch.dirs.map((dir) => startWatcher(rt, { dir, tag: config.watch.tag, stableMs: config.watch.stableMs })),
);
await superviseService(rt, { name: 'watcher', close: async () => void (await Promise.all(watchers.map((w) => w.close()))) });
