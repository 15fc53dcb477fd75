// Helpers of the hostile-input suite: a loopback canary that counts connections, /proc memory readings,
// a batch waiter that records when each job reached its final status, and a streamed oversize upload.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { FINAL_STATUSES, type JobState } from '@ingest/shared';
import type { ChaosSystem } from '../chaos/system.js';

export interface Canary { readonly url: string; connections(): number; close(): Promise<void> }

/** An HTTP listener on a loopback address; every TCP connection it accepts is counted. */
export async function startCanary(host: string): Promise<Canary> {
  let n = 0;
  const server = http.createServer((_req, res) => res.end('canary'));
  server.on('connection', () => { n++; });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, () => resolve()); });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host}:${port}`, connections: () => n, close: () => new Promise((r) => server.close(() => r())) };
}

/** VmHWM (peak resident set) and VmRSS of a process, in MB, from /proc/<pid>/status. */
export async function memoryOf(pid: number): Promise<{ hwmMb: number; rssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { hwmMb: Math.round(kb('VmHWM') / 1024), rssMb: Math.round(kb('VmRSS') / 1024) };
}

export interface Finished { readonly state: JobState; readonly seconds: number }

/** Polls the batch until every job is final; records the seconds from its submission at which each was first seen final. */
export async function waitFinal(sys: ChaosSystem, ids: readonly string[], since: ReadonlyMap<string, number>, timeoutMs: number): Promise<Map<string, Finished>> {
  const done = new Map<string, Finished>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < ids.length) {
    const open = ids.filter((id) => !done.has(id));
    const { jobs } = await sys.api.ok<{ jobs: JobState[] }>('POST', '/api/jobs/batch', { ids: open });
    const now = Date.now();
    for (const j of jobs) if (FINAL_STATUSES.has(j.status)) done.set(j.job_id, { state: j, seconds: (now - (since.get(j.job_id) ?? now)) / 1000 });
    if (done.size === ids.length) break;
    if (now > deadline) throw new Error(`not final after ${timeoutMs} ms: ${jobs.filter((j) => !FINAL_STATUSES.has(j.status)).map((j) => `${j.source_uri} ${j.status}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return done;
}

/**
 * POSTs a body of `total` bytes, generated 1 MB at a time (never held whole), declaring its length.
 * Resolves with the answer and how many bytes had been handed to the socket when the answer came.
 */
export async function oversizeUpload(sys: ChaosSystem, total: number, sourceUri: string): Promise<{ status: number; body: { code?: string; message?: string }; bytesSent: number }> {
  const { dashboard_url: url, token } = JSON.parse(await readFile(`${sys.dir}/data/runtime.json`, 'utf8')) as { dashboard_url: string; token: string };
  const q = new URLSearchParams({ source_uri: sourceUri, tag: 'hostile' });
  const chunk = Buffer.alloc(1 << 20, 0x61);
  return new Promise<{ status: number; body: { code?: string; message?: string }; bytesSent: number }>((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(`${url}/api/documents?${q}`, {
      method: 'POST', headers: { 'content-type': 'text/markdown', 'content-length': String(total), authorization: `Bearer ${token}` },
    }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { code?: string }, bytesSent: sent }); req.destroy(); });
    });
    req.on('error', (e) => { if (!answered) reject(e); });
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
