import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { contentTypeOf, FINAL_STATUSES, sourceUri, type JobState, type JobStatus, type SubmitResult } from '@ingest/shared';
import { ApiClient, CliError } from '../client.js';
import { renderProgress } from '../progress.js';
import { safe } from './simple.commands.js';

const DOC = /\.(md|markdown|html?)$/i;

export interface IngestFlags {
  readonly tag: string;
  readonly base?: string;
  readonly wait: boolean;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/** Files named, and the documents inside folders named, in a stable order. */
export async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => null);
    if (!s) throw new CliError('NOT_FOUND', `no such file or folder: ${p}`);
    if (s.isDirectory()) {
      const entries = await readdir(p, { recursive: true, withFileTypes: true });
      out.push(...entries.filter((e) => e.isFile() && DOC.test(e.name)).map((e) => path.join(e.parentPath, e.name)).sort());
    } else out.push(p);
  }
  return [...new Set(out.map((p) => path.resolve(p)))];
}

interface RunJob {
  readonly job_id: string;
  readonly source_uri: string;
  status: JobStatus;
  error: { code: string; message: string } | null;
  report_path: string | null;
}

async function submitAll(api: ApiClient, files: readonly string[], f: IngestFlags): Promise<RunJob[]> {
  const base = path.resolve(f.base ?? process.cwd());
  const jobs: RunJob[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const file = files[i]!;
      const uri = sourceUri.cli(f.tag, file, base);
      const bytes = await readFile(file);
      const q = new URLSearchParams({ source_uri: uri, tag: f.tag, content_type: contentTypeOf(file), ...(f.force ? { force: 'true' } : {}) });
      for (let attempt = 0; ; attempt++) {
        const r = await api.request<SubmitResult & { code?: string; message?: string }>('POST', `/api/documents?${q}`, undefined, bytes);
        if (r.status === 429 && attempt < 120) {
          await new Promise((res) => setTimeout(res, 1000 * Number(r.headers.get('retry-after') ?? 1)));
          continue;
        }
        // One file over the server's size cap is that file's REJECTED, not the end of the whole run (reliability B6).
        if (r.status === 413) {
          jobs[i] = { job_id: r.body.job_id ?? `rejected-${i}`, source_uri: uri, status: 'REJECTED', error: { code: r.body.code ?? 'TOO_LARGE', message: r.body.message ?? 'over the size cap' }, report_path: null };
          break;
        }
        if (r.status >= 400) throw new CliError(r.body.code ?? 'API_ERROR', r.body.message ?? `HTTP ${r.status}`);
        jobs[i] = { job_id: r.body.job_id, source_uri: r.body.source_uri, status: r.body.status, error: r.body.error, report_path: null };
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
  return jobs;
}

async function waitForAll(api: ApiClient, jobs: RunJob[], json: boolean): Promise<void> {
  const tty = !json && process.stderr.isTTY;
  const printed = new Set<string>();
  for (;;) {
    const open = jobs.filter((j) => !FINAL_STATUSES.has(j.status));
    if (open.length > 0) {
      const { jobs: states } = await api.ok<{ jobs: JobState[] }>('POST', '/api/jobs/batch', { ids: open.map((j) => j.job_id) });
      const byId = new Map(states.map((s) => [s.job_id, s]));
      for (const j of open) {
        const s = byId.get(j.job_id);
        if (!s) continue;
        j.status = s.status;
        j.error = s.error;
        j.report_path = s.report_path;
      }
    }
    if (tty) renderProgress(jobs.map((j) => j.status));
    else if (!json) {
      for (const j of jobs) if (FINAL_STATUSES.has(j.status) && !printed.has(j.job_id)) {
        printed.add(j.job_id);
        // Names and messages may carry control characters (hostile file names, reliability B20): escaped.
        process.stderr.write(`${j.status.padEnd(10)} ${safe(j.source_uri)}${j.error ? `  ${j.error.code}: ${safe(j.error.message)}` : ''}\n`);
      }
    }
    if (jobs.every((j) => FINAL_STATUSES.has(j.status))) return;
    await new Promise((res) => setTimeout(res, 250));
  }
}

export async function ingestCommand(api: ApiClient, paths: readonly string[], f: IngestFlags): Promise<number> {
  if (paths.length === 0) throw new CliError('USAGE', 'ingest needs at least one PATH');
  const started = Date.now();
  const files = await expandPaths(paths);
  if (f.dryRun) {
    const base = path.resolve(f.base ?? process.cwd());
    const planned = files.map((file) => ({ file, source_uri: sourceUri.cli(f.tag, file, base) }));
    process.stdout.write(f.json ? `${JSON.stringify({ dry_run: true, files: planned })}\n` : planned.map((p) => `${safe(p.source_uri)}\n`).join(''));
    return 0;
  }
  const jobs = await submitAll(api, files, f);
  if (f.wait) await waitForAll(api, jobs, f.json);
  const byStatus: Record<string, number> = {};
  for (const j of jobs) byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;
  let tagReady: boolean | null = null;
  if (f.wait) tagReady = (await api.ok<{ ready: boolean }>('GET', `/api/verify?tag=${encodeURIComponent(f.tag)}`)).ready;
  const summary = { by_status: byStatus, seconds: Math.round((Date.now() - started) / 100) / 10, tag_ready: tagReady };
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ run_id: randomUUID(), jobs, summary })}\n`);
  } else {
    if (!f.wait) for (const j of jobs) process.stdout.write(`${j.job_id}  ${j.status.padEnd(10)} ${safe(j.source_uri)}\n`);
    process.stdout.write(`${Object.entries(byStatus).map(([k, v]) => `${k} ${v}`).join(', ')} in ${summary.seconds}s${tagReady === null ? '' : `; tag ${f.tag} ${tagReady ? 'ready' : 'NOT ready'}`}\n`);
  }
  const allGood = jobs.every((j) => (f.wait ? j.status === 'DONE' || j.status === 'SKIPPED' : j.status !== 'REJECTED'));
  return allGood && tagReady !== false ? 0 : 1;
}
