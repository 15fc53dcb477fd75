import type { Logger } from '../logging/logger.js';
import type { StageJobData } from '../queue/topology.js';

export interface StageContext {
  /** Job-scoped child logger (job_id, stage, attempt). */
  readonly logger: Logger;
  /** Aborted on cancel or shutdown. */
  readonly signal: AbortSignal;
  /** 1-based. */
  readonly attempt: number;
  progress(percent: number, message: string): Promise<void>;
}

/** Every stage result is a small pointer object (≤ 2 KB): it travels in Redis to the next stage. */
export interface StageResultBase {
  readonly v: 1;
  /** Counts recorded in the job state as count_<name>. */
  readonly counts: Readonly<Record<string, number>>;
  /** Set once a store stage found a newer generation in the ledger; later stages pass through. */
  readonly superseded?: boolean;
}

export interface StageInput<U> {
  readonly job: StageJobData;
  /** The direct child's return value; undefined only for the first stage of a chain. */
  readonly upstream: U | undefined;
}

/** A stage is a plain function: no BullMQ, Redis or driver imports (DESIGN §2). */
export type StageFn<D, U, R extends StageResultBase> = (input: StageInput<U>, deps: D, ctx: StageContext) => Promise<R>;

/** Artifact keys of one job version; deterministic, so a re-run overwrites instead of leaking. */
export const artifactKeys = {
  source: (jobId: string) => `${jobId}/source`,
  parsed: (jobId: string) => `${jobId}/parsed.json`,
  extracted: (jobId: string) => `${jobId}/extracted.json`,
  embeddings: (jobId: string) => `${jobId}/embeddings.json`,
};
