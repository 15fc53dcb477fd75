import {
  parityOf, runSampleQuery,
  type ChainOutcome, type GraphStore, type IngestReport, type QueryAnswer, type SampleQuery,
  type StageFn, type StageJobData, type StageResultBase, type VectorStore, type JobState,
} from '@ingest/shared';

export interface VerifyDeps {
  readonly graph: Pick<GraphStore, 'sectionHashes' | 'markCompleted' | 'counts' | 'getDocument'>;
  readonly vectors: Pick<VectorStore, 'points'>;
  readonly query: (q: string, options: { tag: string; limit: number; expand?: boolean }) => Promise<QueryAnswer>;
  readonly sampleQueries: (tag: string) => readonly SampleQuery[];
  readonly selfQueryTopK: number;
  readonly pipelineVersion: string;
  readonly embeddingVersion: string;
  readonly jobState: (jobId: string) => Promise<JobState | null>;
  readonly saveReport: (report: IngestReport) => Promise<string>;
  readonly finishChain: (job: StageJobData, outcome: ChainOutcome, extra: { reportPath?: string; timingsMs?: { verify: number } }) => Promise<void>;
}

export interface VerifyUpstream extends StageResultBase {
  readonly embeddingVersion?: string;
  readonly changes?: IngestReport['changes'];
}

export interface VerifyResult extends StageResultBase {
  readonly status: ChainOutcome;
  readonly ready_for_queries: boolean;
  readonly drift_pct: number;
  readonly report_path: string;
}

/**
 * Parity between graph and vectors for this document, its title answered from its own sections, the
 * tag's sample queries, the report, and the end of the chain (DESIGN §5 verify).
 */
export const verifyStage: StageFn<VerifyDeps, VerifyUpstream, VerifyResult> = async ({ job, upstream }, deps) => {
  const started = performance.now();
  const superseded = upstream?.superseded === true;
  const status: ChainOutcome = job.op === 'delete' ? 'DELETED' : superseded ? 'SUPERSEDED' : 'DONE';
  // Every read goes out at once (each store coalesces them across jobs, and the graph's reads have
  // connections of their own): a verify's latency is its longest chain of reads — the document, then its
  // title as a query — not the sum of its reads. The document, its counts and the queries are only
  // needed for a DONE version.
  const done = status === 'DONE';
  const [graphPairs, vectorPoints, state, answered] = await Promise.all([
    deps.graph.sectionHashes(job.documentId),
    deps.vectors.points(job.documentId),
    deps.jobState(job.jobId),
    done ? answerQueries(job, deps) : null,
  ]);
  const { drift_pct, parity } = parityOf(graphPairs, vectorPoints.filter((p) => p.embeddingVersion === deps.embeddingVersion || job.op === 'delete'));
  const samples = answered ? [...(answered.self ? [answered.self] : []), ...answered.tagSamples] : [];
  const selfFound = answered?.self?.passed === true;
  const counts = answered
    ? { sections: answered.counts.sections, entities: answered.counts.entities, mentions: answered.counts.mentions, vectors: vectorPoints.length }
    : { sections: graphPairs.length, entities: 0, mentions: 0, vectors: vectorPoints.length };
  const ready = done && drift_pct === 0 && selfFound;
  const t = state?.timings_ms ?? {};
  const verifyMs = Math.round(performance.now() - started);
  const report: IngestReport = {
    job_id: job.jobId,
    source_uri: job.sourceUri,
    tag: job.tag,
    checksum: job.checksum,
    generation: job.generation,
    embedding_version: upstream?.embeddingVersion ?? deps.embeddingVersion,
    status,
    counts,
    changes: upstream?.changes ?? { created: 0, updated: 0, deleted: job.op === 'delete' ? parity.graph : 0, unchanged: 0 },
    drift_pct,
    parity,
    sample_queries: samples,
    timings_ms: {
      parse: t.parse ?? 0, extract: t.extract ?? 0, embed: t.embed ?? 0, graph: t.graph ?? 0, vector: t.vector ?? 0, verify: verifyMs,
      total: state ? Date.now() - Date.parse(state.created_at) : verifyMs,
    },
    errors: [],
    ready_for_queries: ready,
  };
  // The graph records the completed generation once every read has succeeded, beside the report.
  const [reportPath] = await Promise.all([
    deps.saveReport(report),
    done ? deps.graph.markCompleted(job.documentId, job.generation, deps.pipelineVersion) : null,
  ]);
  await deps.finishChain(job, status, { reportPath, timingsMs: { verify: verifyMs } });
  return { v: 1, status, ready_for_queries: ready, drift_pct, report_path: reportPath, counts: { drift_pct_x1000: Math.round(drift_pct * 1000) } };
};

/**
 * The document's own title as a query, expecting the document itself (recorded as the first sample
 * query: proof that it is answerable through the retrieval agents and `ingestctl query` use), the tag's
 * sample queries, and the graph's counts for the report.
 */
async function answerQueries(job: StageJobData, deps: VerifyDeps) {
  const [self, counts, ...tagSamples] = await Promise.all([
    deps.graph.getDocument(job.documentId).then((doc) => {
      const title = doc?.title ?? '';
      return title.trim() === '' ? null : runSampleQuery(deps.query, job.tag, { q: title, expect_source: job.sourceUri }, deps.selfQueryTopK);
    }),
    deps.graph.counts(job.documentId),
    ...deps.sampleQueries(job.tag).map((s) => runSampleQuery(deps.query, job.tag, s, deps.selfQueryTopK)),
  ]);
  return { self, counts, tagSamples };
}
