/** Redis keys outside BullMQ's prefix; names kept from the original spec so runbooks work (DESIGN §7). */
export const keys = {
  ledger: (documentId: string) => `ingest:ledger:${documentId}`,
  state: (jobId: string) => `ingest:state:${jobId}`,
  events: (jobId: string) => `ingest:events:${jobId}`,
  report: (jobId: string) => `ingest:report:${jobId}`,
  /** Sorted set of job ids by creation time, for `ingestctl status`. */
  recentJobs: 'ingest:jobs',
  /** Set of document ids per tag, for tag-wide verify and reconcile. */
  tagDocuments: (tag: string) => `ingest:tag:${tag}`,
  sourceTags: (sourceUri: string) => `ingest:source-tags:${sourceUri}`,
  artifact: (key: string) => `ingest:artifact:${key}`,
  artifactIndex: (jobId: string) => `ingest:artifacts:${jobId}`,
  run: (runId: string) => `ingest:run:${runId}`,
  /** Sorted set of document ids with an admission lease, scored by its end (ms): the admission sweep's index. */
  admitting: 'ingest:admitting',
};
