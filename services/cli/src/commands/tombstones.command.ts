import type { HeldScan, SubmitResult } from '@ingest/shared';
import { ApiClient, CliError } from '../client.js';
import { safe } from './simple.commands.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `tombstones [list|approve SCAN_ID]`: deletions held by the mass-delete guard (DESIGN §4, §10). */
export async function tombstonesCommand(api: ApiClient, args: readonly string[], o: { json: boolean }): Promise<number> {
  const [action = 'list', scanId] = args;
  if (action === 'approve') {
    if (!scanId) throw new CliError('USAGE', 'tombstones approve needs a SCAN_ID');
    const r = await api.request<{ scan_id?: string; jobs?: SubmitResult[]; code?: string; message?: string }>('POST', `/api/tombstones/${encodeURIComponent(scanId)}/approve`);
    if (r.status === 404) throw new CliError('NOT_FOUND', r.body.message ?? 'no held scan with this id', 1);
    if (r.status >= 400) throw new CliError(r.body.code ?? 'HTTP_ERROR', r.body.message ?? `HTTP ${r.status}`);
    if (o.json) out(JSON.stringify({ scan_id: r.body.scan_id, jobs: r.body.jobs }));
    else {
      for (const j of r.body.jobs ?? []) out(`${j.job_id}  ${j.status}  ${safe(j.source_uri)}`);
      out(`approved ${scanId}: ${(r.body.jobs ?? []).length} tombstones submitted`);
    }
    return 0;
  }
  if (action !== 'list') throw new CliError('USAGE', 'tombstones [list|approve SCAN_ID]');
  const r = await api.ok<{ scans: HeldScan[] }>('GET', '/api/tombstones');
  if (o.json) out(JSON.stringify({ scans: r.scans }));
  else if (r.scans.length === 0) out('no deletions held');
  else for (const s of r.scans) {
    out(`${s.scan_id}  tag ${safe(s.tag)}  ${s.source_uris.length} of ${s.documents_of_tag} documents (${Math.round(s.share * 100)} %)  held ${s.held_at}  source ${safe(s.source)}`);
    for (const u of s.source_uris.slice(0, 20)) out(`  - ${safe(u)}`);
    if (s.source_uris.length > 20) out(`  … ${s.source_uris.length - 20} more`);
  }
  return 0;
}
