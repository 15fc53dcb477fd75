// The source rows of the hostile-input catalogue (B6 spool, B17–B20): entries dropped into the running
// system's spool folder (its watcher), hostile S3 keys through admission to the stores, and the SSRF
// guard's decision for every listed target. Returns what the suite asserts.
import { execFile } from 'node:child_process';
import { mkdir, readdir, symlink, link, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { documentId, REPO_ROOT, sourceUri, type JobState } from '@ingest/shared';
import { guardedFetch, parseAllowList, SsrfError } from '../../services/watcher/src/ssrf.js';
import type { ChaosSystem } from '../chaos/system.js';
import { startCanary, type Canary } from './harness.js';

const run = promisify(execFile);
const WATCH_TAG = 'default';
const SECRET = 'SECRET-OUTSIDE-THE-SPOOL';

export interface SourceRows {
  spoolTooLarge: JobState;
  b17: { entries: number; control: string; admittedHostile: string[]; secretStored: boolean };
  b18: { keys: number; notDone: string[]; distinctDocIds: number; strayPaths: string[] };
  b19: { targets: number; allowed: string[]; codes: string[]; canaryConnections: number };
  b20: { names: number; notDone: string[]; docIdsCanonical: boolean; twins: number; rawControlInCli: string[]; escapedInCli: boolean; invalidUtf8: string };
}

async function jobsBySource(sys: ChaosSystem): Promise<Map<string, JobState>> {
  const { jobs } = await sys.api.ok<{ jobs: JobState[] }>('GET', '/api/jobs?limit=1000');
  const out = new Map<string, JobState>();
  for (const j of jobs) if (!out.has(j.source_uri)) out.set(j.source_uri, j); // newest first
  return out;
}

/** Polls until every URI has a final job (DONE/REJECTED/FAILED/SKIPPED), with a deadline. */
async function waitForSources(sys: ChaosSystem, uris: readonly string[], timeoutMs = 30_000): Promise<Map<string, JobState>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const jobs = await jobsBySource(sys);
    if (uris.every((u) => ['DONE', 'REJECTED', 'FAILED', 'SKIPPED'].includes(jobs.get(u)?.status ?? ''))) return jobs;
    if (Date.now() > deadline) throw new Error(`spool files not final: ${uris.filter((u) => !jobs.get(u)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function sourceRows(sys: ChaosSystem, canary: Canary): Promise<SourceRows> {
  const watch = path.join(sys.dir, 'watch');
  const outside = path.join(sys.dir, 'outside');
  await mkdir(outside, { recursive: true });
  await mkdir(watch, { recursive: true });
  const secretFile = path.join(outside, 'secret.md');
  await writeFile(secretFile, `# Secret\n\n${SECRET}\n`);

  // B6 (spool): a sparse 100 MB file; the watcher must refuse it from its size, without reading it.
  const huge = path.join(watch, 'b6-huge.md');
  await writeFile(huge, '');
  await truncate(huge, 100 * 1024 * 1024);

  // B17: links and special files that would pull bytes from outside the root, and one control file.
  const hostile: [string, () => Promise<unknown>][] = [
    ['link-out.md', () => symlink(secretFile, path.join(watch, 'link-out.md'))],
    ['link-rel.md', () => symlink('../outside/secret.md', path.join(watch, 'link-rel.md'))],
    ['link-etc.md', () => symlink('/etc/passwd', path.join(watch, 'link-etc.md'))],
    ['link-dev.md', () => symlink('/dev/zero', path.join(watch, 'link-dev.md'))],
    ['linkdir/secret.md', () => symlink(outside, path.join(watch, 'linkdir'))],
    ['hard.md', () => link(secretFile, path.join(watch, 'hard.md'))],
    ['fifo.md', () => run('mkfifo', [path.join(watch, 'fifo.md')])],
  ];
  for (const [, make] of hostile) await make();
  const control = path.join(watch, 'control.md');
  await writeFile(control, '# Control\n\nA regular file beside the hostile entries.\n');

  // B20: hostile names (plus an invalid UTF-8 name, legal on Linux).
  const names = ['line\nbreak.md', 'ansi\u001b[2J\u001b[31mred.md', '-rf.md', `${'n'.repeat(252)}.md`, 'caf\u00e9.md', 'cafe\u0301.md', 'bidi\u202Edm.txt.md'];
  for (const n of names) await writeFile(path.join(watch, n), `# ${n.length} chars\n\nA file with a hostile name.\n`);
  await writeFile(Buffer.from([...Buffer.from(path.join(watch, 'bad-')), 0xff, 0xfe, ...Buffer.from('.md')]), '# Bad bytes\n\ntext\n');

  const uriOf = (f: string) => sourceUri.file(f);
  const named = names.map((n) => uriOf(path.join(watch, n)));
  const jobs = await waitForSources(sys, [uriOf(control), uriOf(huge), ...named]);

  const all = await jobsBySource(sys);
  const hostileUris = hostile.map(([n]) => uriOf(path.join(watch, n)));
  const state = await sys.api.ok<{ documents: { source_uri: string; title: string }[] }>('GET', `/api/state/${WATCH_TAG}`);
  const b17 = {
    entries: hostile.length,
    control: jobs.get(uriOf(control))!.status,
    admittedHostile: hostileUris.filter((u) => all.has(u)),
    secretStored: state.documents.some((d) => d.title === 'Secret'),
  };

  // B20: docIds derive from the canonical source URI; CLI output escapes control characters.
  const b20Jobs = named.map((u) => jobs.get(u)!);
  // The connection comes from <data>/runtime.json of this system, not from the caller's environment.
  const cliEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'INGEST_URL' && k !== 'INGEST_DASHBOARD_TOKEN'));
  const cli = async (args: string[], cwd = REPO_ROOT) => (await run(path.join(REPO_ROOT, 'scripts/ingestctl'), [args[0]!, '--data', path.join(sys.dir, 'data'), ...args.slice(1)], { cwd, env: cliEnv })).stdout;
  const shown = b20Jobs.filter((j) => /line\n|ansi|bidi/.test(j.source_uri));
  const outputs = await Promise.all([
    ...shown.map((j) => cli(['status', j.job_id])),
    cli(['status']),
    cli(['ingest', '--dry-run', '--tag', 'x', '--', '-rf.md', 'line\nbreak.md'], watch),
  ]);
  const raw = outputs.join('\n');
  const twinIds = new Set(b20Jobs.filter((j) => /caf(é|e\u0301)\.md$/.test(j.source_uri)).map((j) => j.job_id.slice(0, 36)));
  const b20 = {
    names: names.length,
    notDone: b20Jobs.filter((j) => j.status !== 'DONE').map((j) => `${JSON.stringify(j.source_uri)} ${j.status}`),
    docIdsCanonical: b20Jobs.every((j) => j.job_id.startsWith(documentId(WATCH_TAG, j.source_uri))),
    twins: twinIds.size,
    rawControlInCli: [...raw.matchAll(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e]/g)].map((m) => JSON.stringify(m[0])),
    escapedInCli: raw.includes('\\u001b[2J') && raw.includes('line\\u000abreak.md') && raw.includes('\\u202edm') && raw.includes('cli://x/-rf.md'),
    invalidUtf8: [...all.keys()].some((u) => u.includes('/bad-')) ? 'a job exists' : 'refused (no job: the name cannot be opened as a string path)',
  };

  // B18: hostile S3 keys are opaque parts of an s3:// source URI; nothing is ever written by key.
  const keys = ['../../etc/cron.d/x', '/abs/path.md', 'a/./b.md', 'a/b.md', 'a//b.md', '..\\x.md', '%2e%2e%2fescape.md', 'ends-with/.', 'ends-with/..', 'ctl\u0001\u001b[2Jkey.md', `${'k'.repeat(1021)}.md`];
  const s3Tag = 's3-hostile-bucket';
  // Over artifacts.redisMaxBytes, so the file tier is used; one line, so one section.
  const body = Buffer.from(`# Key\n\n${'payload'.repeat(40_000)}\n`);
  for (const k of keys) {
    const q = new URLSearchParams({ source_uri: sourceUri.s3('hostile-bucket', k), tag: s3Tag, content_type: 'text/markdown' });
    const r = await sys.api.request<{ job_id: string }>('POST', `/api/documents?${q}`, undefined, body);
    if (r.status >= 300) throw new Error(`submit key ${JSON.stringify(k)}: ${r.status}`);
  }
  const s3Uris = keys.map((k) => sourceUri.s3('hostile-bucket', k));
  const s3Jobs = await waitForSources(sys, s3Uris, 60_000);
  const tree = (await readdir(sys.dir, { recursive: true })).map(String);
  const b18 = {
    keys: keys.length,
    notDone: s3Uris.filter((u) => s3Jobs.get(u)?.status !== 'DONE').map((u) => `${JSON.stringify(u)} ${s3Jobs.get(u)?.status}`),
    distinctDocIds: new Set(s3Uris.map((u) => s3Jobs.get(u)!.job_id.slice(0, 36))).size,
    strayPaths: tree.filter((p) => /cron\.d|(^|\/)abs(\/|$)|escape\.md|kkkkkkkk|ctl|ends-with/.test(p)),
  };

  // B19: every listed target goes through the guard with an empty allow-list; two loopback canaries.
  const canary2 = await startCanary('127.0.0.2');
  const p1 = new URL(canary.url).port;
  const p2 = new URL(canary2.url).port;
  const targets = [
    `http://127.0.0.1:${p1}/`, `https://127.0.0.1:${p1}/`, `https://[::1]:${p1}/`, `https://0.0.0.0:${p1}/`,
    `https://2130706433:${p1}/`, `https://0x7f000001:${p1}/`, `https://017700000001:${p1}/`, `https://127.1:${p1}/`,
    `https://[::ffff:127.0.0.1]:${p1}/`, 'https://[::ffff:10.0.0.1]/', 'https://169.254.169.254/latest/meta-data/',
    'https://10.0.0.1/', 'https://172.16.0.1/', 'https://192.168.1.1/', 'https://100.64.0.1/', 'https://[fd00::1]/',
    `https://localhost:${p1}/`, `https://127.0.0.2:${p2}/`, 'file:///etc/passwd', `gopher://127.0.0.1:${p1}/`,
    'redis://127.0.0.1:6379/', `https://user:pw@127.0.0.1:${p1}/`,
  ];
  // A redirector on allow-listed 127.0.0.1 sending each request to a denied place (302 → metadata, → 127.0.0.2).
  const redirects = ['https://169.254.169.254/latest/meta-data/', `http://127.0.0.2:${p2}/`, `https://[::1]:${p1}/`, 'file:///etc/passwd'];
  const redirector = http.createServer((req, res) => { res.writeHead(302, { location: redirects[Number(req.url!.slice(1))]! }); res.end(); });
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
  const rport = (redirector.address() as AddressInfo).port;
  const allowed: string[] = [];
  const codes = new Set<string>();
  const attempt = async (url: string, allow: string[]) => {
    try {
      await guardedFetch(url, { allow: parseAllowList(allow), maxBytes: 1024, timeoutMs: 3000, maxRedirects: 3 });
      allowed.push(url);
    } catch (error) {
      if (error instanceof SsrfError) codes.add(error.code);
      else if (error instanceof TypeError) codes.add('INVALID_URL');
      else allowed.push(`${url} (${(error as Error).message})`);
    }
  };
  for (const t of targets) await attempt(t, []);
  for (let i = 0; i < redirects.length; i++) await attempt(`http://127.0.0.1:${rport}/${i}`, ['127.0.0.1']);
  redirector.close();
  const b19 = { targets: targets.length + redirects.length, allowed, codes: [...codes].sort(), canaryConnections: canary.connections() + canary2.connections() };
  await canary2.close();

  return { spoolTooLarge: jobs.get(uriOf(huge))!, b17, b18, b19, b20 };
}
