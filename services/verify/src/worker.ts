import { keys, writeReportFiles, createStageWorker, workerOptions, type IngestReport, type Runtime } from '@ingest/shared';
import { verifyStage } from './verify.stage.js';

/** Reports go to files on this host and to Redis, so `ingestctl report` works from anywhere (DESIGN §7). */
async function saveReport(rt: Runtime, report: IngestReport): Promise<string> {
  const [file] = await Promise.all([
    writeReportFiles(rt.config.reportsDir, report),
    rt.redis.set(keys.report(report.job_id), JSON.stringify(report), 'EX', rt.config.state.ttlSeconds),
  ]);
  return file;
}

export function startVerifyWorker(rt: Runtime) {
  const worker = createStageWorker({
    ...workerOptions(rt),
    stage: 'verify',
    fn: verifyStage,
    deps: {
      graph: rt.graph,
      vectors: rt.vectors,
      query: (q, o) => rt.query(q, o),
      sampleQueries: (tag) => rt.config.ingest.tags[tag]?.sampleQueries ?? [],
      selfQueryTopK: rt.config.verify.selfQueryTopK,
      pipelineVersion: rt.pipeline.pipelineVersion,
      embeddingVersion: rt.embedder.version,
      jobState: (id) => rt.pipeline.state.get(id),
      saveReport: (r) => saveReport(rt, r),
      finishChain: (job, outcome, extra) => rt.pipeline.finishChain(job, outcome, extra),
    },
  });
  return { worker, close: () => worker.close() };
}
