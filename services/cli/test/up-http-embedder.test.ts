import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { FINAL_STATUSES, REPO_ROOT, type IngestReport, type JobState, type SubmitResult } from '@ingest/shared';
import { ApiClient } from '../src/client.js';
import { API_KEY, DIMS, FakeOpenAI, MODEL } from '../../../shared/test/contract/openai-fake.js';

/**
 * `ingestctl up --processes` against an OpenAI-compatible embedder (a real HTTP server on loopback speaking
 * the protocol) that answers with 429 + Retry-After, and a cancel that reaches an embed job active in a
 * child process.
 */
describe('up --processes with an OpenAI-compatible embedder: 429s, cancel in a child process', function () {
  this.timeout(180_000);
  let dir: string;
  let up: ChildProcess;
  let api: ApiClient;
  const fake = new FakeOpenAI();

  before(async () => {
    await fake.start();
    dir = await mkdtemp(path.join(tmpdir(), 'up-http-'));
    up = spawn(path.join(REPO_ROOT, 'scripts/ingestctl'), ['up', '--processes', '--data', path.join(dir, 'data'), '--watch', path.join(dir, 'watch'), '--port', '0'], {
      env: { ...process.env, LOG_LEVEL: 'warn', INGEST_DASHBOARD_TOKEN: '', REDIS_URL: '', EMBEDDER_URL: fake.url, EMBEDDER_MODEL: MODEL, EMBEDDER_API_KEY: API_KEY, EMBEDDER_DIMENSIONS: String(DIMS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let banner = '';
    await new Promise<void>((resolve, reject) => {
      up.stdout!.on('data', (d: Buffer) => { banner += d.toString(); if (banner.includes('Ctrl-C')) resolve(); });
      up.once('exit', (code) => reject(new Error(`up exited ${code}`)));
    });
    const runtime = JSON.parse(await readFile(path.join(dir, 'data/runtime.json'), 'utf8')) as { dashboard_url: string; token: string };
    api = new ApiClient({ url: runtime.dashboard_url, token: runtime.token });
  });
  after(async () => {
    if (up?.exitCode === null) { up.kill('SIGTERM'); await new Promise((r) => up.once('exit', r)); }
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const submit = async (name: string, text: string) => {
    const q = new URLSearchParams({ source_uri: `cli://h/${name}`, tag: 'h' });
    return (await api.request<SubmitResult>('POST', `/api/documents?${q}`, undefined, Buffer.from(text))).body;
  };
  const state = (id: string) => api.ok<JobState>('GET', `/api/jobs/${id}`);
  const final = async (id: string) => {
    for (;;) {
      const s = await state(id);
      if (FINAL_STATUSES.has(s.status)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('ingests every document to DONE through 429s with Retry-After, and reports name the model', async () => {
    for (let i = 0; i < 3; i++) fake.plans.push({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const jobs = await Promise.all(Array.from({ length: 5 }, (_, i) => submit(`d${i}.md`, `# Doc ${i}\n\nAbout eviction policy ${i}.\n`)));
    const ends = await Promise.all(jobs.map((j) => final(j.job_id)));
    expect(ends.map((s) => s.status)).to.deep.equal(['DONE', 'DONE', 'DONE', 'DONE', 'DONE']);
    expect(fake.plans).to.have.length(0); // the three 429s were served
    const report = await api.ok<IngestReport>('GET', `/api/jobs/${jobs[0]!.job_id}/report`);
    expect(report.embedding_version).to.equal(`${MODEL}-${DIMS}`);
    expect(fake.seen.every((s) => s.authorization === `Bearer ${API_KEY}`)).to.equal(true);
  });

  it('cancel reaches an embed job active in a child process (its request hangs) and ends it CANCELLED', async () => {
    fake.plans.push({ kind: 'hang' });
    const j = await submit('hang.md', '# Hang\n\nThe embedder never answers this one.\n');
    for (let s = await state(j.job_id); s.status !== 'EMBEDDING'; s = await state(j.job_id)) await new Promise((r) => setTimeout(r, 20));
    const c = await api.request<{ ok: boolean; status: string }>('POST', `/api/jobs/${j.job_id}/cancel`);
    expect(c.body).to.deep.include({ ok: true, status: 'CANCELLED' });
    expect((await state(j.job_id)).error?.code).to.equal('CANCELLED');
    const after = await submit('after.md', '# After\n\nThe embed process still works.\n');
    expect((await final(after.job_id)).status).to.equal('DONE');
  });
});
