import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Debian's prometheus and promtool (DESIGN §13). Missing binaries fail the test loudly, never skip it. */
export function requireBinary(name: 'prometheus' | 'promtool'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${name} not found on PATH: run \`make system-deps\` (Debian package prometheus)`);
  return found;
}

export function promtool(...args: string[]): { status: number; output: string } {
  const r = spawnSync(requireBinary('promtool'), args, { encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface TestPrometheus {
  readonly url: string;
  query(expr: string): Promise<{ status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } }>;
  get<T>(apiPath: string): Promise<T>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus on a free loopback port with a temp config scraping `target` (host:port) every
 * second, with `rulesFile` loaded; killed by PID in stop().
 */
export async function startPrometheus(o: { target: string; rulesFile?: string; scrapeInterval?: string }): Promise<TestPrometheus> {
  const binary = requireBinary('prometheus');
  const dir = await mkdtemp(path.join(tmpdir(), 'ingest-prometheus-'));
  if (o.rulesFile) await copyFile(o.rulesFile, path.join(dir, 'alerts.yml'));
  const interval = o.scrapeInterval ?? '1s';
  await writeFile(path.join(dir, 'prometheus.yml'), [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    ...(o.rulesFile ? ['rule_files:', '  - alerts.yml'] : []),
    'scrape_configs:',
    '  - job_name: ingest-dashboard',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: ['${o.target}']`,
    '',
  ].join('\n'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(binary, [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    }
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const get = async <T>(apiPath: string): Promise<T> => (await (await fetch(`${url}${apiPath}`)).json()) as T;
  return {
    url,
    get,
    query: (expr) => get(`/api/v1/query?${new URLSearchParams({ query: expr })}`),
    stop,
  };
}
