import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkEvictionPolicy, createLogger, loadConfig } from '@ingest/shared';
import { startEmbeddedSystem } from '../embedded.js';
import { parseS3Uri } from '@ingest/watcher';
import { spawnRedis, type SpawnedRedis } from '../redis-server.js';
import { startStageChildren, type StageChildren } from '../stage-children.js';
import { CliError } from '../client.js';

export interface UpFlags {
  readonly data?: string;
  readonly watch: readonly string[];
  readonly source: readonly string[];
  readonly port?: number;
  readonly processes: boolean;
  readonly json?: boolean;
  /** Processes per compute stage with --processes. */
  readonly computeProcesses?: number;
}

const isLoopback = (host: string) => host === '127.0.0.1' || host === '::1' || host === 'localhost';

/**
 * Tests only (chaos suite): the compute children reach Redis or the API through another loopback port —
 * a fault proxy in front of the real one (INGEST_TEST_COMPUTE_REDIS_PORT / INGEST_TEST_COMPUTE_API_PORT).
 */
const viaTestPort = (url: string, port: string | undefined): string => {
  if (!url || !port) return url;
  const u = new URL(url);
  u.port = port;
  return u.protocol.startsWith('http') ? u.origin : u.href;
};

/** Runs the whole system on the embedded default in the foreground until SIGINT/SIGTERM. */
export async function upCommand(f: UpFlags): Promise<number> {
  const watchDirs = [...f.watch, ...f.source.filter((s) => !/^[a-z0-9]+:\/\//i.test(s))];
  const s3Uris = f.source.filter((s) => /^s3:\/\//i.test(s));
  // HTTP listing sources: tag http-<host>; the SSRF guard's allow-list from config httpSource.allow + INGEST_HTTP_ALLOW.
  const httpSources = f.source.filter((s) => /^https?:\/\//i.test(s)).map((url) => {
    try { return { url, tag: `http-${new URL(url).hostname}` }; } catch { throw new CliError('USAGE', `not a URL: ${url}`); }
  });
  const remote = f.source.filter((s) => /^[a-z0-9]+:\/\//i.test(s) && !/^https?:\/\//i.test(s) && !/^s3:\/\//i.test(s));
  if (remote.length > 0) throw new CliError('USAGE', `unsupported source scheme: ${remote.join(', ')}`);
  // S3 sources: tag s3-<bucket>; endpoint, region and credentials from AWS_*, path style from S3_FORCE_PATH_STYLE=true.
  const s3Of = (uris: readonly string[]) => [...new Set(uris)].map((uri) => {
    try {
      const { bucket, prefix } = parseS3Uri(uri);
      return { uri, bucket, prefix, tag: `s3-${bucket}` };
    } catch (error) {
      throw new CliError('USAGE', (error as Error).message);
    }
  });
  const overrides: Record<string, unknown> = {};
  if (f.data) overrides.dataDir = f.data;
  if (f.port !== undefined) overrides.dashboard = { port: f.port };
  if (watchDirs.length > 0) overrides.watch = { dirs: watchDirs };
  let config = loadConfig({ overrides });
  const s3 = s3Of([...(config.s3Source?.sources ?? []), ...s3Uris]);
  const logger = createLogger({ service: 'ingestctl-up', ...config.logging });
  await mkdir(config.dataDir, { recursive: true });
  const runtimeFile = path.join(config.dataDir, 'runtime.json');

  const token = config.dashboard.token ?? randomBytes(24).toString('base64url');
  if (!config.dashboard.token && !isLoopback(config.dashboard.host)) throw new CliError('USAGE', 'refusing a non-loopback bind without INGEST_DASHBOARD_TOKEN');
  let redis: SpawnedRedis | null = null;
  if (!config.redis.url) {
    // The password persists beside the AOF so a restart reopens the same data.
    const secretFile = path.join(config.dataDir, 'redis.secret');
    const password = await readFile(secretFile, 'utf8').catch(async () => {
      const p = randomBytes(18).toString('base64url');
      await writeFile(secretFile, p, { mode: 0o600 });
      return p;
    });
    redis = await spawnRedis({
      binary: config.redis.spawnBinary, dir: path.join(config.dataDir, 'redis'), password: password.trim(), restart: true,
      // Same port, password and dir: it reloads its AOF and every client reconnects on its own.
      onRestart: (i) => logger.warn('redis-server exited; restarting it from its AOF', { code: i.code, signal: i.signal, pid: i.pid, restarts: i.restarts }),
    });
    config = loadConfig({ overrides: { ...overrides, redis: { url: redis.url } } });
  }
  const system = await startEmbeddedSystem(config, token, logger, { computeElsewhere: f.processes, watcherProcess: f.processes, httpSources, s3Sources: s3 });
  let children: StageChildren | null = null;
  if (f.processes) {
    children = startStageChildren({
      count: f.computeProcesses ?? 1,
      logger,
      env: {
        ...process.env, INGEST_DASHBOARD_TOKEN: token, INGEST_DATA_DIR: config.dataDir,
        REDIS_URL: viaTestPort(config.redis.url ?? '', process.env.INGEST_TEST_COMPUTE_REDIS_PORT),
        INGEST_URL: viaTestPort(system.url, process.env.INGEST_TEST_COMPUTE_API_PORT),
      },
    });
  }
  const policyProblem = await checkEvictionPolicy(system.runtime.redis).catch(() => null);
  if (policyProblem) logger.warn(policyProblem);
  await writeFile(runtimeFile, JSON.stringify({ dashboard_url: system.url, token, redis_url: config.redis.url, pid: process.pid }, null, 2), { mode: 0o600 });

  if (f.json) {
    // One line a supervisor or script can parse; the same facts as the banner.
    process.stdout.write(`${JSON.stringify({
      status: 'up', dashboard_url: system.url, ui_url: `${system.url}/ui`, api_url: `${system.url}/api`, mcp_url: `${system.url}/mcp`,
      token, runtime_file: runtimeFile, data_dir: config.dataDir, reports_dir: path.join(config.reportsDir, 'ingest'), pid: process.pid,
      watch_dirs: config.watch.dirs.map((d) => path.resolve(d)), sources: [...s3.map((o) => ({ kind: 's3', uri: o.uri, tag: o.tag })), ...httpSources.map((o) => ({ kind: 'http', uri: o.url, tag: o.tag }))],
      compute_processes: children ? (f.computeProcesses ?? 1) : 0,
    })}\n`);
  } else process.stdout.write([
    `graphrag-ingest is up (embedded: LadybugDB + LanceDB + hashing embedder)`,
    `  Bull Board ${system.url}/ui    (browser login: any user name, the token as password)`,
    `  API        ${system.url}/api   (token in ${runtimeFile})`,
    `  MCP        ${system.url}/mcp   (same token; or \`ingestctl mcp\` over stdio)`,
    `  token      ${token}`,
    `  data       ${config.dataDir}`,
    `  watching   ${config.watch.dirs.map((d) => path.resolve(d)).join(', ') || '—'} (tag ${config.watch.tag})`,
    ...s3.map((o) => `  s3         ${o.uri} (tag ${o.tag}, polled every ${config.s3Source?.pollIntervalMs ?? 5000} ms)`),
    ...httpSources.map((o) => `  http       ${o.url} (tag ${o.tag})`),
    `  reports    ${path.join(config.reportsDir, 'ingest')}`,
    `  processes  ${children ? `parse, extract, embed × ${f.computeProcesses ?? 1} each and the spool watcher as child processes (ingest-<stage>, ingest-watcher); stores in this one (pid ${process.pid})` : `one (pid ${process.pid})`}`,
    `Ctrl-C stops it.`,
    '',
  ].join('\n'));

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info('shutting down');
  const hardExit = setTimeout(() => process.exit(1), 20_000);
  hardExit.unref();
  await children?.stop();
  await system.close();
  await redis?.stop();
  await rm(runtimeFile, { force: true });
  logger.info('stopped');
  // Everything is closed; a library timer left behind must not keep a foreground command alive.
  setTimeout(() => process.exit(0), 200).unref();
  return 0;
}
