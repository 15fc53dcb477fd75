import type { GraphStore } from '../ports/graph-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import type { QueryAnswer } from '../retrieval/hybrid.js';
import type { SampleQuery } from '../config/config.types.js';
import { parityOf, type SampleQueryResult } from './report.js';

export interface TagVerdict {
  readonly tag: string;
  readonly ready: boolean;
  readonly documents: number;
  readonly drift_pct: number;
  readonly drifting_documents: readonly { document_id: string; source_uri: string; drift_pct: number }[];
  readonly sample_queries: readonly SampleQueryResult[];
}

export interface TagVerifyDeps {
  readonly graph: Pick<GraphStore, 'listDocuments' | 'sectionHashes'>;
  readonly vectors: Pick<VectorStore, 'points'>;
  /** `expand: false`: a sample query needs the ranked sections, not their graph neighbourhood. */
  readonly query: (q: string, options: { tag: string; limit: number; expand?: boolean }) => Promise<QueryAnswer>;
  readonly sampleQueries: readonly SampleQuery[];
  readonly limit: number;
}

/** Runs one sample query: passed when an expected source is among the evidence at enough confidence. */
export async function runSampleQuery(query: TagVerifyDeps['query'], tag: string, s: SampleQuery, limit: number): Promise<SampleQueryResult> {
  // Verification reads only rank, source and snippet: the graph expansion of the evidence (a third of a
  // document's verify time on the embedded stores) is skipped.
  const answer = await query(s.q, { tag, limit, expand: false });
  const match = answer.evidence.find((e) => e.source_uri.endsWith(s.expect_source));
  const top = match ?? answer.evidence[0];
  return {
    q: s.q,
    expect_source: s.expect_source,
    top_evidence: top ? { source_uri: top.source_uri, section_id: top.section_id, title: top.title, snippet: top.snippet } : null,
    confidence: answer.confidence,
    passed: match !== undefined && answer.confidence >= (s.min_confidence ?? 0),
  };
}

/**
 * A tag is ready when it has DONE documents, none of them drifts between graph and vectors, and every
 * sample query of the tag finds its expected source (DESIGN §5 verify).
 */
export async function verifyTag(deps: TagVerifyDeps, tag: string): Promise<TagVerdict> {
  const docs = (await deps.graph.listDocuments(tag)).filter((d) => d.completedGeneration !== null);
  let diff = 0;
  let union = 0;
  const drifting: { document_id: string; source_uri: string; drift_pct: number }[] = [];
  for (const d of docs) {
    const [g, v] = await Promise.all([deps.graph.sectionHashes(d.id), deps.vectors.points(d.id)]);
    const p = parityOf(g, v);
    const u = new Set([...g.map((x) => `${x.id}|${x.contentHash}`), ...v.map((x) => `${x.id}|${x.contentHash}`)]).size;
    const dd = p.parity.missing_in_graph.length + p.parity.missing_in_vector.length;
    diff += dd;
    union += u;
    if (dd > 0) drifting.push({ document_id: d.id, source_uri: d.sourceUri, drift_pct: p.drift_pct });
  }
  const samples: SampleQueryResult[] = [];
  for (const s of deps.sampleQueries) samples.push(await runSampleQuery(deps.query, tag, s, deps.limit));
  const drift = union === 0 ? 0 : Math.round((100 * diff / union) * 1000) / 1000;
  return {
    tag,
    ready: docs.length > 0 && drift === 0 && samples.every((s) => s.passed),
    documents: docs.length,
    drift_pct: drift,
    drifting_documents: drifting,
    sample_queries: samples,
  };
}
