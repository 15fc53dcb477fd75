// A spawned `ingestctl up --processes` for the chaos suite: its own config dir (a temp copy of config/
// with shortened lock, stall and backoff timings), compute stages as child processes found via /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { FINAL_STATUSES, REPO_ROOT, type JobState, type SubmitResult } from '@ingest/shared';
import { ApiClient } from '../../services/cli/src/client.js';
import type { FaultProxy } from './fault-proxy.js';

/** Timings short enough that a crashed holder's job is recovered in a few seconds. */
export const CHAOS_CONFIG = `# chaos suite (test/chaos): short locks, stall checks and backoff
stages:
  parse:   { concurrency: 1, attempts: 3, backoffMs: 100, lockDurationMs: 2000, stalledIntervalMs: 1000 }
  extract: { concurrency: 4, attempts: 3, backoffMs: 100, lockDurationMs: 2000, stalledIntervalMs: 1000 }
  embed:   { concurrency: 4, attempts: 5, backoffMs: 100, lockDurationMs: 2000, stalledIntervalMs: 1000 }
  graph:   { concurrency: 8, attempts: 8, backoffMs: 100, lockDurationMs: 5000, stalledIntervalMs: 1000 }
  vector:  { concurrency: 8, attempts: 8, backoffMs: 100, lockDurationMs: 5000, stalledIntervalMs: 1000 }
  verify:  { concurrency: 8, attempts: 3, backoffMs: 100, lockDurationMs: 5000, stalledIntervalMs: 1000 }
backpressure:
  enabled: false
`;

export interface ChaosSystem {
  readonly up: ChildProcess;
  readonly api: ApiClient;
  readonly dir: string;
  readonly redisUrl: string;
  /** Live compute children of `up` by title (ingest-parse, ingest-extract, ingest-embed). */
  children(): Promise<Map<string, number>>;
  waitForChild(title: string, not?: number): Promise<number>;
  /** The redis-server `up` spawned (its child), once it answers on its port; `not` waits for a replacement. */
  redisPid(not?: number): Promise<number>;
  submit(tag: string, name: string, text: string): Promise<string>;
  waitAll(jobIds: readonly string[], timeoutMs?: number): Promise<JobState[]>;
  /** Events of a stage queue's stream ('stalled', 'failed', …) since the start. */
  queueEvents(stage: string, event: string): Promise<number>;
  stop(): Promise<void>;
}

export interface ChaosOptions {
  env?: NodeJS.ProcessEnv;
  /** Replaces CHAOS_CONFIG (e.g. with back-pressure enabled). */
  config?: string;
  /** Fault proxies the compute children reach Redis / the API through (targets set once `up` is up). */
  computeVia?: { redis?: FaultProxy; api?: FaultProxy };
  /**
   * Run in this directory (config/, data/, watch/) instead of a new temp one, e.g. a second `up` on the
   * data dir of one that was killed; stop() then leaves the directory to the caller.
   */
  dir?: string;
}

export async function startChaosSystem(o: ChaosOptions = {}): Promise<ChaosSystem> {
  const dir = o.dir ?? await mkdtemp(path.join(tmpdir(), 'chaos-'));
  const configDir = path.join(dir, 'config');
  await cp(path.join(REPO_ROOT, 'config'), configDir, { recursive: true });
  await writeFile(path.join(configDir, 'chaos.yaml'), o.config ?? CHAOS_CONFIG);
  const via = {
    ...(o.computeVia?.redis ? { INGEST_TEST_COMPUTE_REDIS_PORT: String(o.computeVia.redis.port) } : {}),
    ...(o.computeVia?.api ? { INGEST_TEST_COMPUTE_API_PORT: String(o.computeVia.api.port) } : {}),
  };
  const up = spawn(path.join(REPO_ROOT, 'scripts/ingestctl'), ['up', '--processes', '--json', '--data', path.join(dir, 'data'), '--watch', path.join(dir, 'watch'), '--port', '0'], {
    env: { ...process.env, LOG_LEVEL: 'error', INGEST_DASHBOARD_TOKEN: '', REDIS_URL: '', INGEST_CONFIG_DIR: configDir, INGEST_ENV: 'chaos', ...via, ...o.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let banner = '';
  await new Promise<void>((resolve, reject) => {
    // Its one JSON line (written after runtime.json); a child process sharing this stdout may print first.
    up.stdout!.on('data', (d: Buffer) => { banner += d.toString(); if (banner.split('\n').some((l) => l.startsWith('{"status":"up"'))) resolve(); });
    up.once('exit', (code) => reject(new Error(`up exited ${code}`)));
  });
  up.stdout!.resume();
  const runtime = JSON.parse(await readFile(path.join(dir, 'data/runtime.json'), 'utf8')) as { dashboard_url: string; token: string; redis_url: string };
  o.computeVia?.redis?.setTarget(Number(new URL(runtime.redis_url).port));
  o.computeVia?.api?.setTarget(Number(new URL(runtime.dashboard_url).port));
  const api = new ApiClient({ url: runtime.dashboard_url, token: runtime.token });
  const redis = new Redis(runtime.redis_url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();

  const children = async (): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (const p of await readdir('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim();
      if (ppid === up.pid && cmd.startsWith('ingest-')) out.set(cmd, Number(p));
      if (ppid === up.pid && cmd.startsWith('redis-server')) out.set('redis-server', Number(p));
    }
    return out;
  };
  const sys: ChaosSystem = {
    up, api, dir, redisUrl: runtime.redis_url, children,
    async waitForChild(title, not) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const pid = (await children()).get(title);
        if (pid !== undefined && pid !== not) return pid;
        if (Date.now() > deadline) throw new Error(`no ${title} child after 30 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async redisPid(not) {
      const pid = await sys.waitForChild('redis-server', not);
      for (let i = 0; i < 200 && (await redis.ping().catch(() => null)) !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 50));
      return pid;
    },
    async submit(tag, name, text) {
      const q = new URLSearchParams({ source_uri: `cli://${tag}/${name}`, tag });
      const r = await api.request<SubmitResult>('POST', `/api/documents?${q}`, undefined, Buffer.from(text));
      if (r.status >= 300) throw new Error(`submit ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.job_id;
    },
    async waitAll(jobIds, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { jobs } = await api.ok<{ jobs: JobState[] }>('POST', '/api/jobs/batch', { ids: jobIds });
        if (jobs.length === jobIds.length && jobs.every((j) => FINAL_STATUSES.has(j.status))) return jobs;
        if (Date.now() > deadline) {
          throw new Error(`not final after ${timeoutMs} ms: ${jobs.filter((j) => !FINAL_STATUSES.has(j.status)).map((j) => `${j.job_id} ${j.status}`).join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async queueEvents(stage, event) {
      const entries = await redis.xrange(`{ingest}:${stage}:events`, '-', '+');
      return entries.filter(([, f]) => f[0] === 'event' && f[1] === event).length;
    },
    async stop() {
      redis.disconnect();
      if (up.exitCode === null && up.signalCode === null) { up.kill('SIGTERM'); await new Promise((r) => up.once('exit', r)); }
      if (!o.dir) await rm(dir, { recursive: true, force: true });
    },
  };
  // A system that never gets its children is stopped here: an orphaned `up` would keep the test's stdout open.
  await Promise.all(['ingest-parse', 'ingest-extract', 'ingest-embed'].map((t) => sys.waitForChild(t))).catch(async (error: unknown) => {
    await sys.stop();
    throw error;
  });
  return sys;
}

/**
 * A deterministic corpus: n documents of `sections` sections each, with commands (entities). No links
 * between documents: a REFERENCES edge is created only when its target is already stored, so
 * cross-document links make the graph depend on ingest order even without faults.
 */
export function corpus(n: number, sections = 12): { name: string; text: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const parts = [`# Document ${i}\n\nIntro of document ${i}.\n`];
    for (let s = 0; s < sections; s++) {
      parts.push(`## Topic ${s} of ${i}\n\nRun \`redis-cli info ${s}\` then \`git status\` for step ${s}. Text ${i * 1000 + s} ${'lorem ipsum '.repeat(20)}\n`);
    }
    return { name: `doc-${i}.md`, text: parts.join('\n') };
  });
}
