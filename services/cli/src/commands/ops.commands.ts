import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { FINAL_STATUSES, inspectSubmission, sourceUri, type JobState, type ProgressEvent } from '@ingest/shared';
import { ApiClient, CliError } from '../client.js';
import { expandPaths } from './ingest.command.js';
import { safe } from './simple.commands.js';
import { renderProgress } from '../progress.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** Live progress of one job until it ends (DESIGN §10 `tail`). */
export async function tailCommand(api: ApiClient, jobId: string | undefined, o: { json: boolean }): Promise<number> {
  if (!jobId) throw new CliError('USAGE', 'tail needs a JOB_ID');
  let after = '-';
  // On a terminal: live per-stage bars; otherwise (pipes, logs, --json) one plain line per event.
  const bars = !o.json && process.stdout.isTTY;
  for (;;) {
    const { events } = await api.ok<{ events: { id: string; event: ProgressEvent }[] }>('GET', `/api/jobs/${encodeURIComponent(jobId)}/events?after=${encodeURIComponent(after)}`);
    for (const { id, event } of events) {
      after = id;
      if (o.json) out(JSON.stringify(event));
      else if (!bars) out(`${new Date(event.ts).toISOString()}  ${event.stage.padEnd(8)} ${String(event.percent).padStart(3)}%  ${safe(event.message)}`);
    }
    const st = await api.ok<JobState>('GET', `/api/jobs/${encodeURIComponent(jobId)}`);
    if (bars) renderProgress([st.status], process.stdout);
    if (FINAL_STATUSES.has(st.status)) {
      if (o.json) out(JSON.stringify({ job_id: st.job_id, status: st.status, error: st.error }));
      else out(`${st.status}${st.error ? `  ${st.error.code}: ${safe(st.error.message)}` : ''}`);
      return st.status === 'DONE' || st.status === 'SKIPPED' || st.status === 'DELETED' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function controlCommand(api: ApiClient, action: 'cancel' | 'retry', jobId: string | undefined, o: { json: boolean }): Promise<number> {
  if (!jobId) throw new CliError('USAGE', `${action} needs a JOB_ID`);
  const r = await api.request<{ ok: boolean; job_id: string; status?: string; code?: string; message?: string }>('POST', `/api/jobs/${encodeURIComponent(jobId)}/${action}`);
  if (r.status === 404) throw new CliError('NOT_FOUND', r.body.message ?? 'no such job', 1);
  if (o.json) out(JSON.stringify(r.body));
  else out(r.body.ok ? `${jobId}  ${r.body.status}` : `${jobId}  ${r.body.code}: ${r.body.message}`);
  return r.body.ok ? 0 : 1;
}

export async function queuesCommand(api: ApiClient, args: readonly string[], o: { json: boolean }): Promise<number> {
  const [action = 'list', stage] = args;
  if (action === 'pause' || action === 'resume') {
    if (!stage) throw new CliError('USAGE', `queues ${action} needs a STAGE`);
    const r = await api.request<{ queue?: string; paused?: boolean; message?: string }>('POST', `/api/queues/${encodeURIComponent(stage)}/${action}`);
    if (r.status >= 400) throw new CliError('USAGE', r.body.message ?? `HTTP ${r.status}`);
    out(o.json ? JSON.stringify(r.body) : `${r.body.queue} ${r.body.paused ? 'paused' : 'running'}`);
    return 0;
  }
  if (action !== 'list') throw new CliError('USAGE', 'queues [list|pause STAGE|resume STAGE]');
  const r = await api.ok<{ queues: { queue: string; paused: boolean; counts: Record<string, number> }[] }>('GET', '/api/queues');
  if (o.json) out(JSON.stringify(r));
  else for (const q of r.queues) {
    out(`${q.queue.padEnd(8)} ${q.paused ? 'PAUSED ' : 'running'}  ${Object.entries(q.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  return 0;
}

/** What an ingest would add, change and leave, doing nothing (DESIGN §10 `plan`). */
export async function planCommand(api: ApiClient, paths: readonly string[], o: { tag: string; base?: string; json: boolean }): Promise<number> {
  if (paths.length === 0) throw new CliError('USAGE', 'plan needs at least one PATH');
  const files = await expandPaths(paths);
  const base = path.resolve(o.base ?? process.cwd());
  const uris = files.map((f) => sourceUri.cli(o.tag, f, base));
  const { pipeline_version, entries } = await api.ok<{ pipeline_version: string; entries: { source_uri: string; completed_checksum: string | null; pipeline_version: string | null }[] }>(
    'POST', '/api/ledger/lookup', { tag: o.tag, source_uris: uris });
  const plan = { tag: o.tag, add: [] as string[], change: [] as string[], unchanged: [] as string[], reject: [] as { source_uri: string; code: string }[], delete: [] as string[] };
  for (const [i, file] of files.entries()) {
    const uri = uris[i]!;
    const e = entries[i];
    const inspection = inspectSubmission(await readFile(file), { maxBytes: 10 * 1024 * 1024, controlByteRatio: 0.1 });
    if (!inspection.ok) {
      if (inspection.status === 'REJECTED') plan.reject.push({ source_uri: uri, code: inspection.code });
      else plan.unchanged.push(uri);
    } else if (!e?.completed_checksum) plan.add.push(uri);
    else if (e.completed_checksum !== inspection.checksum || e.pipeline_version !== pipeline_version) plan.change.push(uri);
    else plan.unchanged.push(uri);
  }
  if (o.json) out(JSON.stringify(plan));
  else {
    for (const u of plan.add) out(`+ ${safe(u)}`);
    for (const u of plan.change) out(`~ ${safe(u)}`);
    for (const r of plan.reject) out(`! ${safe(r.source_uri)}  ${r.code}`);
    out(`${plan.add.length} to add, ${plan.change.length} to change, ${plan.unchanged.length} unchanged, ${plan.reject.length} rejected; an ingest deletes nothing (use delete)`);
  }
  return 0;
}

export async function verifyCommand(api: ApiClient, o: { tag: string; json: boolean }): Promise<number> {
  const v = await api.ok<{ tag: string; ready: boolean; documents: number; drift_pct: number; sample_queries: { q: string; passed: boolean; confidence: number; expect_source: string }[]; drifting_documents: { source_uri: string; drift_pct: number }[] }>(
    'GET', `/api/verify?tag=${encodeURIComponent(o.tag)}`);
  if (o.json) out(JSON.stringify(v));
  else {
    out(`tag ${safe(v.tag)}: ${v.ready ? 'READY' : 'NOT READY'} — ${v.documents} documents, drift ${v.drift_pct} %`);
    for (const d of v.drifting_documents) out(`  drift ${d.drift_pct} %  ${safe(d.source_uri)}`);
    for (const q of v.sample_queries) out(`  ${q.passed ? 'pass' : 'FAIL'}  "${safe(q.q)}" → ${safe(q.expect_source)} (confidence ${q.confidence})`);
  }
  return v.ready ? 0 : 1;
}

/** Ledger ↔ graph ↔ vectors across a tag; --repair re-queues exactly the affected documents. */
export async function reconcileCommand(api: ApiClient, o: { tag: string; repair: boolean; json: boolean }): Promise<number> {
  const r = await api.ok<{ tag: string; documents: number; problems: { document_id: string; source_uri: string; kind: string; repair?: string; job_id?: string; missing_in_vector?: string[]; missing_in_graph?: string[] }[] }>(
    'POST', '/api/reconcile', { tag: o.tag, repair: o.repair });
  if (o.json) out(JSON.stringify(r));
  else {
    out(`tag ${safe(r.tag)}: ${r.documents} documents, ${r.problems.length} problem(s)`);
    for (const p of r.problems) {
      const ids = [...(p.missing_in_vector ?? []).map((i) => `-vector ${i}`), ...(p.missing_in_graph ?? []).map((i) => `-graph ${i}`)].join(' ');
      out(`  ${p.kind.padEnd(19)} ${safe(p.source_uri)}${ids ? `  ${ids}` : ''}${p.repair ? `  → ${p.repair}${p.job_id ? ` ${p.job_id}` : ''}` : ''}`);
    }
  }
  const unresolved = r.problems.filter((p) => !p.repair);
  return unresolved.length === 0 ? 0 : 1;
}
