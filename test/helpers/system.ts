import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, loadConfig, type AppConfig, type IngestSettings } from '@ingest/shared';
import { startEmbeddedSystem, type EmbeddedSystem } from '../../services/cli/src/embedded.js';
import { ApiClient } from '../../services/cli/src/client.js';
import { startTestRedis, type TestRedis } from './redis.js';

export interface TestSystem {
  readonly system: EmbeddedSystem;
  readonly api: ApiClient;
  readonly config: AppConfig;
  readonly dir: string;
  readonly watchDir: string;
  readonly token: string;
  stop(): Promise<void>;
}

export const TEST_TOKEN = 'test-token-not-secret';

/** The whole embedded system in this process, on a spawned Redis and fresh temp data dirs. */
export async function startTestSystem(o: { ingest?: IngestSettings; overrides?: Record<string, unknown>; watch?: boolean } = {}): Promise<TestSystem> {
  const redis: TestRedis = await startTestRedis();
  const dir = await mkdtemp(path.join(tmpdir(), 'ingest-e2e-'));
  const watchDir = path.join(dir, 'watch');
  const config = loadConfig({
    env: {},
    ingest: o.ingest ?? { programs: ['redis-cli'], tags: {} },
    overrides: {
      dataDir: path.join(dir, 'data'),
      reportsDir: path.join(dir, 'reports'),
      redis: { url: redis.url },
      dashboard: { host: '127.0.0.1', port: 0 },
      watch: { dirs: o.watch ? [watchDir] : [], tag: 'spool', stableMs: 50 },
      logging: { level: 'silent', format: 'json' },
      ...o.overrides,
    },
  });
  const system = await startEmbeddedSystem(config, TEST_TOKEN, createLogger({ service: 'test', level: 'silent', format: 'json' }));
  return {
    system, config, dir, watchDir, token: TEST_TOKEN,
    api: new ApiClient({ url: system.url, token: TEST_TOKEN }),
    async stop() {
      await system.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
