/**
 * Queue topology (DESIGN §2): one BullMQ queue per stage under the hash-tagged prefix, in pipeline order.
 * Embedding runs before any store is touched, so a failure or cancel before `graph` leaves both stores
 * as they were.
 */
export const STAGES = ['parse', 'extract', 'embed', 'graph', 'vector', 'verify'] as const;
export type StageName = (typeof STAGES)[number];

/** Tombstone chains run vector{delete} → graph{delete} → verify{delete}. */
export const DELETE_STAGES = ['vector', 'graph', 'verify'] as const satisfies readonly StageName[];

export const STORE_STAGES: readonly StageName[] = ['graph', 'vector'];

/** Job status while a stage holds the job (DESIGN §7). */
export const STATUS_OF_STAGE: Readonly<Record<StageName, JobStatus>> = {
  parse: 'PARSING',
  extract: 'EXTRACTING',
  embed: 'EMBEDDING',
  graph: 'GRAPHING',
  vector: 'VECTORS',
  verify: 'VERIFYING',
};

export const JOB_STATUSES = [
  'PENDING', 'PARSING', 'EXTRACTING', 'EMBEDDING', 'GRAPHING', 'VECTORS', 'VERIFYING', 'DONE',
  'FAILED', 'CANCELLED', 'REJECTED', 'SKIPPED', 'SUPERSEDED', 'DELETING', 'DELETED',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['DONE', 'FAILED', 'CANCELLED', 'REJECTED', 'SKIPPED', 'SUPERSEDED', 'DELETED']);

/** Payload of every node of a chain (≤ 2 KB: ids, counts, keys — never document text). */
export interface StageJobData {
  readonly v: 1;
  readonly op: 'ingest' | 'delete';
  readonly jobId: string;
  readonly documentId: string;
  readonly generation: number;
  readonly tag: string;
  readonly sourceUri: string;
  readonly checksum: string;
  readonly contentType: string;
}

export const stageJobDataSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'op', 'jobId', 'documentId', 'generation', 'tag', 'sourceUri', 'checksum', 'contentType'],
  properties: {
    v: { const: 1 },
    op: { enum: ['ingest', 'delete'] },
    jobId: { type: 'string', pattern: '^[0-9a-f-]{36}-g[0-9]+$' },
    documentId: { type: 'string', pattern: '^[0-9a-f-]{36}$' },
    generation: { type: 'integer', minimum: 1 },
    tag: { type: 'string', minLength: 1, maxLength: 200 },
    sourceUri: { type: 'string', minLength: 1, maxLength: 1500 },
    checksum: { type: 'string', maxLength: 64 },
    contentType: { type: 'string', maxLength: 100 },
  },
} as const;

/** Node job ids: `<job_id>-<stage>` (no ':' — BullMQ forbids it). */
export const nodeJobId = (jobId: string, stage: StageName): string => `${jobId}-${stage}`;

/**
 * The stream cancel broadcasts travel on (`<prefix>:control:events`, DESIGN §6), read by one QueueEvents
 * per stage worker. It is not a queue: on a stage queue's own event stream every worker's reader woke for
 * every event of every job (~16 blocking XREADs per document), only to look for the rare cancel.
 */
export const CONTROL_EVENTS = 'control';
