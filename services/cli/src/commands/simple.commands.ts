import type { JobState, QueryAnswer, SourceStatus } from '@ingest/shared';
import { ApiClient, CliError } from '../client.js';

/** Control characters (newlines, ANSI escapes, bidi controls) from file names or document text never reach the terminal raw. */
export const safe = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const out = (line: string) => process.stdout.write(`${line}\n`);

export async function statusCommand(api: ApiClient, jobId: string | undefined, o: { failed: boolean; json: boolean }): Promise<number> {
  if (jobId) {
    const state = await api.ok<JobState>('GET', `/api/jobs/${encodeURIComponent(jobId)}`);
    if (o.json) out(JSON.stringify(state));
    else {
      out(`${state.job_id}  ${state.status}${state.reason ? ` (${state.reason})` : ''}`);
      out(`  source   ${safe(state.source_uri)}`);
      out(`  tag      ${safe(state.tag)}   generation ${state.generation}`);
      if (state.error) out(`  error    ${state.error.code}: ${safe(state.error.message)}`);
      if (state.failed_stage) out(`  failed   at ${state.failed_stage} after ${state.attempts ?? '?'} attempt(s), first seen ${state.first_seen ?? '-'}, last seen ${state.last_seen ?? '-'}`);
      if (state.report_path) out(`  report   ${state.report_path}`);
      const t = Object.entries(state.timings_ms).map(([k, v]) => `${k} ${v}ms`).join(', ');
      if (t) out(`  timings  ${t}`);
    }
    return ['DONE', 'SKIPPED'].includes(state.status) || !['FAILED', 'CANCELLED', 'REJECTED', 'SUPERSEDED'].includes(state.status) ? 0 : 1;
  }
  const r = await api.ok<{ jobs: JobState[]; queues: Record<string, Record<string, number>> }>('GET', `/api/jobs?limit=30${o.failed ? '&failed=true' : ''}`);
  // A server without /api/sources (older) lists no sources rather than failing the whole status.
  const src = await api.request<{ sources?: SourceStatus[] }>('GET', '/api/sources');
  const sources = src.status < 400 && Array.isArray(src.body?.sources) ? src.body.sources : [];
  if (o.json) {
    out(JSON.stringify({ ...r, sources }));
    return 0;
  }
  if (o.failed) printFailed(r.jobs);
  else for (const j of r.jobs) out(`${j.job_id}  ${j.status.padEnd(10)} ${safe(j.source_uri)}${j.error ? `  ${j.error.code}` : ''}`);
  out('');
  out(`queue     waiting active delayed children failed completed`);
  for (const [q, c] of Object.entries(r.queues)) {
    out(`${q.padEnd(9)} ${String(c.waiting ?? 0).padStart(7)} ${String(c.active ?? 0).padStart(6)} ${String(c.delayed ?? 0).padStart(7)} ${String(c['waiting-children'] ?? 0).padStart(8)} ${String(c.failed ?? 0).padStart(6)} ${String(c.completed ?? 0).padStart(9)}`);
  }
  if (sources.length > 0) {
    out('');
    out('source  tag          last scan                 backlog errors  location');
    for (const s of sources) {
      out(`${safe(s.kind).padEnd(7)} ${safe(s.tag).padEnd(12)} ${(s.last_scan_at ?? 'never').padEnd(25)} ${String(s.backlog).padStart(7)} ${String(s.errors).padStart(6)}  ${safe(s.location)}`);
      if (s.last_error) out(`        last error ${s.last_error_at ?? ''}: ${safe(s.last_error)}`);
    }
  }
  return 0;
}

/** The dead letters: where each failed chain stopped, why, and over how long (never document content). */
function printFailed(jobs: readonly JobState[]): void {
  const rows = jobs.map((j) => [j.job_id, safe(j.source_uri), j.failed_stage ?? '-', j.error?.code ?? '-', j.attempts === null ? '-' : String(j.attempts), j.first_seen ?? '-', j.last_seen ?? '-']);
  const head = ['job', 'source', 'stage', 'code', 'attempts', 'first seen', 'last seen'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

export async function reportCommand(api: ApiClient, jobId: string | undefined, o: { format: string; json: boolean }): Promise<number> {
  if (!jobId) throw new CliError('USAGE', 'report needs a JOB_ID');
  if (o.format !== 'json' && o.format !== 'md') throw new CliError('USAGE', '--format is json or md');
  if (o.format === 'md' && !o.json) {
    const r = await api.request<string>('GET', `/api/jobs/${encodeURIComponent(jobId)}/report?format=md`);
    if (r.status >= 400) throw new CliError('NOT_FOUND', 'no report for this job (yet)', 1);
    process.stdout.write(r.body.endsWith('\n') ? r.body : `${r.body}\n`);
    return 0;
  }
  const report = await api.ok<{ ready_for_queries: boolean }>('GET', `/api/jobs/${encodeURIComponent(jobId)}/report`);
  out(JSON.stringify(o.json ? report : report, null, o.json ? 0 : 2));
  return 0;
}

export async function queryCommand(api: ApiClient, text: string, o: { tag?: string; limit: number; json: boolean }): Promise<number> {
  if (!text.trim()) throw new CliError('USAGE', 'query needs TEXT');
  const answer = await api.ok<QueryAnswer>('POST', '/api/query', { query: text, tag: o.tag, limit: o.limit });
  if (o.json) {
    out(JSON.stringify(answer));
    return 0;
  }
  out(`confidence ${answer.confidence}`);
  answer.evidence.forEach((e, i) => {
    out(`${i + 1}. ${safe(e.source_uri)}  §  ${safe(e.heading_path.join(' › ') || e.title)}  (score ${e.score}, ${e.legs.join('+')})`);
    out(`   ${safe(e.snippet)}`);
  });
  if (answer.evidence.length === 0) out('no evidence found');
  return 0;
}

export async function deleteCommand(api: ApiClient, uri: string | undefined, o: { tag?: string; json: boolean }): Promise<number> {
  if (!uri) throw new CliError('USAGE', 'delete needs a SOURCE_URI');
  const r = await api.ok<{ jobs: { job_id: string; status: string; source_uri: string }[] }>('POST', '/api/documents/delete', { source_uri: uri, tag: o.tag });
  if (o.json) out(JSON.stringify(r));
  else for (const j of r.jobs) out(`${j.job_id}  ${j.status}  ${safe(j.source_uri)}`);
  return 0;
}
