import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The per-version report (DESIGN §7); JSON Schema in config/schema/ingest_report.schema.json. */
export interface IngestReport {
  readonly job_id: string;
  readonly source_uri: string;
  readonly tag: string;
  readonly checksum: string;
  readonly generation: number;
  readonly embedding_version: string;
  readonly status: string;
  readonly counts: { sections: number; entities: number; mentions: number; vectors: number };
  readonly changes: { created: number; updated: number; deleted: number; unchanged: number };
  readonly drift_pct: number;
  readonly parity: { graph: number; vector: number; missing_in_vector: string[]; missing_in_graph: string[] };
  readonly sample_queries: readonly SampleQueryResult[];
  readonly timings_ms: { parse: number; extract: number; embed: number; graph: number; vector: number; verify: number; total: number };
  readonly errors: readonly { code: string; message: string }[];
  readonly ready_for_queries: boolean;
}

export interface SampleQueryResult {
  readonly q: string;
  readonly expect_source: string;
  readonly top_evidence: { source_uri: string; section_id: string; title: string; snippet: string } | null;
  readonly confidence: number;
  readonly passed: boolean;
}

/** Parity over (sectionId, content_hash) pairs; drift_pct = 100 × |A △ B| / |A ∪ B| (DESIGN §5). */
export function parityOf(graph: readonly { id: string; contentHash: string }[], vector: readonly { id: string; contentHash: string }[]) {
  const g = new Set(graph.map((p) => `${p.id}|${p.contentHash}`));
  const v = new Set(vector.map((p) => `${p.id}|${p.contentHash}`));
  const missingInVector = [...g].filter((k) => !v.has(k));
  const missingInGraph = [...v].filter((k) => !g.has(k));
  const union = new Set([...g, ...v]).size;
  const drift = union === 0 ? 0 : (100 * (missingInVector.length + missingInGraph.length)) / union;
  return {
    drift_pct: Math.round(drift * 1000) / 1000,
    parity: {
      graph: g.size,
      vector: v.size,
      missing_in_vector: missingInVector.map((k) => k.split('|')[0]!),
      missing_in_graph: missingInGraph.map((k) => k.split('|')[0]!),
    },
  };
}

export function reportMarkdown(r: IngestReport): string {
  const esc = (s: string) => s.replace(/[|`\n\r]/g, ' ');
  const lines = [
    `# Ingest report — ${esc(r.source_uri)}`,
    '',
    `| | |`,
    `|---|---|`,
    `| job | \`${r.job_id}\` |`,
    `| status | **${r.status}** |`,
    `| ready for queries | ${r.ready_for_queries ? 'yes' : '**no**'} |`,
    `| tag | ${esc(r.tag)} |`,
    `| generation | ${r.generation} |`,
    `| embedding version | ${esc(r.embedding_version)} |`,
    `| drift | ${r.drift_pct} % (graph ${r.parity.graph}, vector ${r.parity.vector}) |`,
    `| sections / entities / mentions / vectors | ${r.counts.sections} / ${r.counts.entities} / ${r.counts.mentions} / ${r.counts.vectors} |`,
    `| changes | +${r.changes.created} ~${r.changes.updated} −${r.changes.deleted} =${r.changes.unchanged} |`,
    `| timings (ms) | parse ${r.timings_ms.parse}, extract ${r.timings_ms.extract}, embed ${r.timings_ms.embed}, graph ${r.timings_ms.graph}, vector ${r.timings_ms.vector}, verify ${r.timings_ms.verify}, total ${r.timings_ms.total} |`,
    '',
  ];
  if (r.sample_queries.length > 0) {
    lines.push('## Sample queries', '', '| query | expected | passed | confidence | top evidence |', '|---|---|---|---|---|');
    for (const q of r.sample_queries) {
      lines.push(`| ${esc(q.q)} | ${esc(q.expect_source)} | ${q.passed ? 'yes' : 'no'} | ${q.confidence} | ${esc(q.top_evidence?.source_uri ?? '—')} |`);
    }
    lines.push('');
  }
  if (r.errors.length > 0) lines.push('## Errors', '', ...r.errors.map((e) => `- \`${e.code}\`: ${esc(e.message)}`), '');
  return lines.join('\n');
}

/** Writes `<reportsDir>/ingest/<UTC timestamp>-<job_id>/ingest_report.{json,md}`; returns the JSON path. */
export async function writeReportFiles(reportsDir: string, report: IngestReport): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(reportsDir, 'ingest', `${stamp}-${report.job_id}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'ingest_report.json');
  // Both at once (the thread pool writes them side by side): this is on the path to DONE.
  await Promise.all([writeFile(file, JSON.stringify(report, null, 2)), writeFile(path.join(dir, 'ingest_report.md'), reportMarkdown(report))]);
  return file;
}
