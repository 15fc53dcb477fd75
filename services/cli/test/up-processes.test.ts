import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import { FINAL_STATUSES, REPO_ROOT, type JobState, type SubmitResult } from '@ingest/shared';
import { ApiClient } from '../src/client.js';

/** Children of a pid whose process title starts with `ingest-` (the compute-stage processes). */
async function stageChildren(parent: number): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const { readdir } = await import('node:fs/promises');
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const cmd = (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim();
    if (ppid === parent && cmd.startsWith('ingest-')) out.set(Number(p), cmd);
  }
  return out;
}

describe('ingestctl up --processes (compute stages as child processes)', function () {
  this.timeout(120_000);
  let dir: string;
  let up: ChildProcess;
  let api: ApiClient;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'up-proc-'));
    up = spawn(path.join(REPO_ROOT, 'scripts/ingestctl'), ['up', '--processes', '--json', '--data', path.join(dir, 'data'), '--watch', path.join(dir, 'watch'), '--port', '0'],
      { env: { ...process.env, LOG_LEVEL: 'warn', INGEST_DASHBOARD_TOKEN: '', REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let banner = '';
    await new Promise<void>((resolve, reject) => {
      up.stdout!.on('data', (d: Buffer) => { banner += d.toString(); if (banner.includes('\n')) resolve(); });
      up.once('exit', (code) => reject(new Error(`up exited ${code}`)));
    });
    const line = JSON.parse(banner.split('\n')[0]!) as { dashboard_url: string; token: string; compute_processes: number };
    const validate = new Ajv({ strict: false }).compile(JSON.parse(await readFile(path.join(REPO_ROOT, 'config/schema/cli/up.json'), 'utf8')) as object);
    expect(validate(line), JSON.stringify(validate.errors)).to.equal(true);
    expect(line.compute_processes).to.equal(1);
    const runtime = JSON.parse(await readFile(path.join(dir, 'data/runtime.json'), 'utf8')) as { dashboard_url: string; token: string };
    expect(runtime).to.deep.include({ dashboard_url: line.dashboard_url, token: line.token });
    api = new ApiClient({ url: runtime.dashboard_url, token: runtime.token });
  });
  after(async () => {
    if (up.exitCode === null) { up.kill('SIGTERM'); await new Promise((r) => up.once('exit', r)); }
    await rm(dir, { recursive: true, force: true });
  });

  const ingest = async (name: string, text: string) => {
    const q = new URLSearchParams({ source_uri: `cli://p/${name}`, tag: 'p' });
    const r = await api.request<SubmitResult>('POST', `/api/documents?${q}`, undefined, Buffer.from(text));
    for (;;) {
      const s = await api.ok<JobState>('GET', `/api/jobs/${r.body.job_id}`);
      if (FINAL_STATUSES.has(s.status)) return s;
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  it('runs parse, extract and embed as ingest-<stage> processes and ingests through them', async () => {
    let children: string[] = [];
    for (let i = 0; i < 200 && children.length < 4; i++) {
      children = [...(await stageChildren(up.pid!)).values()].sort(); // titles appear once each child has loaded
      if (children.length < 4) await new Promise((r) => setTimeout(r, 100));
    }
    expect(children).to.deep.equal(['ingest-embed', 'ingest-extract', 'ingest-parse', 'ingest-watcher']);
    const s = await ingest('a.md', '# Child processes\n\nParsed, extracted and embedded in other processes.\n');
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');
    const edited = await ingest('a.md', '# Child processes\n\nParsed, extracted and embedded in other processes, edited.\n');
    expect(edited.counts.embedded).to.equal(1); // embed read existing hashes through the API
  });

  it('restarts a compute process that dies, and keeps ingesting', async () => {
    const before = await stageChildren(up.pid!);
    const embed = [...before].find(([, t]) => t === 'ingest-embed')![0];
    process.kill(embed, 'SIGKILL');
    let after = await stageChildren(up.pid!);
    while (![...after].some(([pid, t]) => t === 'ingest-embed' && pid !== embed)) {
      await new Promise((r) => setTimeout(r, 100));
      after = await stageChildren(up.pid!);
    }
    expect((await ingest('b.md', '# After restart\n\nStill flowing.\n')).status).to.equal('DONE');
  });

  it('stops cleanly on SIGTERM, children included', async () => {
    const children = [...(await stageChildren(up.pid!)).keys()];
    up.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => up.once('exit', (c) => r(c)));
    expect(code).to.equal(0);
    for (const pid of children) expect(() => process.kill(pid, 0)).to.throw();
  });
});
