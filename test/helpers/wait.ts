import { FINAL_STATUSES, type JobState, type SubmitResult } from '@ingest/shared';
import type { ApiClient } from '../../services/cli/src/client.js';

/** Polls job state until it is final (the API has no push channel the CLI could await instead). */
export async function waitForJob(api: ApiClient, jobId: string, timeoutMs = 30_000): Promise<JobState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await api.ok<JobState>('GET', `/api/jobs/${jobId}`);
    if (FINAL_STATUSES.has(s.status)) return s;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${s.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function submit(api: ApiClient, sourceUri: string, text: string | Uint8Array, tag = 'e2e', force = false): Promise<SubmitResult> {
  const q = new URLSearchParams({ source_uri: sourceUri, tag, ...(force ? { force: 'true' } : {}) });
  const r = await api.request<SubmitResult>('POST', `/api/documents?${q}`, undefined, typeof text === 'string' ? Buffer.from(text) : text);
  // 413: refused from its Content-Length before upload, yet recorded as a REJECTED submission with a job id.
  if (r.status >= 400 && !(r.status === 413 && r.body.job_id)) throw new Error(`submit failed: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function ingestAndWait(api: ApiClient, sourceUri: string, text: string | Uint8Array, tag = 'e2e'): Promise<JobState> {
  const r = await submit(api, sourceUri, text, tag);
  return FINAL_STATUSES.has(r.status) ? api.ok<JobState>('GET', `/api/jobs/${r.job_id}`) : waitForJob(api, r.job_id);
}

/**
 * Waits for the newest job of a source to reach `status` — for sources that admit on their own (spool,
 * S3, HTTP), where the test only observes.
 */
export async function waitForSourceJob(api: ApiClient, uri: string, status: string, timeoutMs = 30_000): Promise<JobState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { jobs } = await api.ok<{ jobs: JobState[] }>('GET', '/api/jobs?limit=200');
    const mine = jobs.find((j) => j.source_uri === uri);
    if (mine && mine.status === status) return mine;
    if (mine && ['DONE', 'DELETED', 'FAILED', 'REJECTED'].includes(mine.status) && mine.status !== status) {
      const fresh = await waitForJob(api, mine.job_id);
      if (fresh.status === status) return fresh;
    }
    if (Date.now() > deadline) throw new Error(`no ${status} job for ${uri}; last ${mine?.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
