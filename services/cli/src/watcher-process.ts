// The spool watcher as its own process (`ingestctl up --processes`), so it can die and be restarted
// without taking the stores down (reliability F23). It admits through the same path as `up` (Redis
// ledger + artifact store on the data dir) and never opens LadybugDB/LanceDB: the ledger rebuild at
// start goes through the API of the process that owns them. Process title: ingest-watcher.
import { apiVectorReader, loadConfig, openRuntime, unavailableGraphStore } from '@ingest/shared';
import { startWatcher } from '@ingest/watcher';
import { ApiClient } from './client.js';
import { stopWithParent } from './child-lifecycle.js';

process.title = 'ingest-watcher';
const apiUrl = process.env.INGEST_URL;
const token = process.env.INGEST_DASHBOARD_TOKEN;
if (!apiUrl || !token) throw new Error('CONFIG: the watcher process needs INGEST_URL and INGEST_DASHBOARD_TOKEN');
// The folders come from `up` (its --watch flags are not in the config files this process reads).
const dirs = process.argv.slice(2);

const config = loadConfig();
const rt = await openRuntime(config, 'ingest-watcher', undefined, {
  stores: { graph: unavailableGraphStore(), vectors: apiVectorReader(apiUrl, token, config.embedder.dimensions) },
});
const api = new ApiClient({ url: apiUrl, token });
const rebuildLedger = async (tag: string): Promise<number> =>
  (await api.ok<{ problems: unknown[] }>('POST', '/api/reconcile', { tag, repair: 'ledger' })).problems.length;
const watchers = await Promise.all(dirs.map((dir) => startWatcher(rt, { dir, tag: config.watch.tag, stableMs: config.watch.stableMs, rebuildLedger })));
rt.logger.info('watcher process started', { pid: process.pid, dirs: dirs.length });

// Stops on SIGTERM, or when `ingestctl up` goes away, rather than admit on as an orphan.
stopWithParent(async () => {
  await Promise.all(watchers.map((w) => w.close()));
  await rt.close();
});
