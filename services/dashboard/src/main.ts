/**
 * Composition root of the dashboard (API, /health, /ready) as its own process — the distributed
 * deployment's entry point for ingestctl, operators and Prometheus. A non-loopback bind needs
 * INGEST_DASHBOARD_TOKEN (containers bind 0.0.0.0 through config/compose.yaml).
 */
import { createServer } from 'node:http';
import { loadConfig, openRuntime, superviseService } from '@ingest/shared';
import { createApi, startBackpressure, startJanitor } from './index.js';

const config = loadConfig();
const token = config.dashboard.token;
if (!token) throw new Error('CONFIG: the dashboard needs INGEST_DASHBOARD_TOKEN');
const rt = await openRuntime(config, 'dashboard');
const api = createApi(rt, token);
const janitor = startJanitor(rt, config.janitor.intervalMs);
const backpressure = await startBackpressure(rt);
const server = createServer(api.app);
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.dashboard.port, config.dashboard.host, () => resolve());
});
rt.logger.info('dashboard listening', { host: config.dashboard.host, port: config.dashboard.port });
await superviseService(rt, {
  name: 'dashboard',
  close: async () => {
    janitor.close();
    await backpressure?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await api.close();
  },
});
