import { QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { EventEmitter } from 'node:events';
import { Ajv } from 'ajv';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/config.types.js';
import { describeError, ErrorCode, PipelineError } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';
import type { JobStateStore } from '../ledger/job-state.js';
import type { StageContext, StageFn, StageResultBase } from '../pipeline/stage.types.js';
import { CONTROL_EVENTS, nodeJobId, STAGES, STATUS_OF_STAGE, stageJobDataSchema, type StageJobData, type StageName } from './topology.js';

const validatePayload = new Ajv({ allErrors: true }).compile<StageJobData>(stageJobDataSchema);

export interface StageWorkerOptions<D, U, R extends StageResultBase> {
  readonly stage: StageName;
  readonly fn: StageFn<D, U, R>;
  readonly deps: D;
  readonly connection: Redis;
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly state: JobStateStore;
  /** Called once when a job of this stage has failed for good (chain parked as FAILED). */
  readonly onFinalFailure: (data: StageJobData, error: { code: string; message: string }) => Promise<void>;
  /** Called with each job's wall time and outcome (metrics). */
  readonly onJobFinished?: (stage: StageName, ms: number, outcome: 'completed' | 'failed', detail?: { result?: StageResultBase; createdAt?: number }) => void;
  readonly concurrency?: number;
  /** Cancel support (DESIGN §6): the flag every stage checks, and the first store stage's commit claim. */
  readonly control?: {
    isCancelled(jobId: string): Promise<boolean>;
    /** The key whose presence marks the version cancelled. */
    cancelFlag(jobId: string): string;
    commit(jobId: string): Promise<'ok' | 'cancelled'>;
  };
}

/** A job whose holder died this many times is failed (BullMQ's deferred failure) instead of requeued again. */
export const MAX_STALLED_COUNT = 2;
const STALL_LIMIT_MESSAGE = 'job stalled more than allowable limit';
/** Longest error message kept in a job's state (dead letter). */
const MAX_MESSAGE_CHARS = 500;

const cancelled = () => new UnrecoverableError(`${ErrorCode.Cancelled}: cancelled by an operator`);

/** The one place that knows BullMQ: turns a stage function into a Worker (DESIGN §2, research/style.md B3). */
export function createStageWorker<D, U, R extends StageResultBase>(o: StageWorkerOptions<D, U, R>): Worker<StageJobData, R> {
  const settings = o.config.stages[o.stage];
  const first = o.stage === STAGES[0];

  const processor = async (job: Job<StageJobData, R>, _token?: string, signal?: AbortSignal): Promise<R> => {
    if (!validatePayload(job.data)) {
      throw new UnrecoverableError(`${ErrorCode.PayloadInvalid}: ${JSON.stringify(validatePayload.errors?.slice(0, 3))}`);
    }
    const data = job.data;
    const attempt = job.attemptsMade + 1;
    const logger = o.logger.child({ job_id: data.jobId, stage: o.stage, attempt });
    let upstream: U | undefined;
    // A tombstone chain starts at `vector`; an ingest chain at `parse`.
    const chainStart = data.op === 'delete' ? 'vector' : first ? o.stage : null;
    if (chainStart !== o.stage) {
      const values = Object.values((await job.getChildrenValues()) ?? {}) as U[];
      upstream = values[0];
      if (upstream === undefined) {
        throw new UnrecoverableError(`${ErrorCode.MissingUpstream}: ${o.stage} has no result from the stage before it`);
      }
    }
    // The first store stage claims the version; before it every stage honours a cancel, checked in the
    // same step that records the stage's start.
    const status = data.op === 'delete' ? 'DELETING' : STATUS_OF_STAGE[o.stage];
    const firstStoreStage = data.op === 'delete' ? 'vector' : 'graph';
    if (o.control && o.stage === firstStoreStage && (await o.control.commit(data.jobId)) === 'cancelled') throw cancelled();
    const cancelFlag = o.control && STAGES.indexOf(o.stage) < STAGES.indexOf(firstStoreStage) ? o.control.cancelFlag(data.jobId) : undefined;
    if (!(await o.state.stageStarted(data.jobId, status, o.stage, cancelFlag))) throw cancelled();
    const ctx: StageContext = {
      logger,
      signal: signal ?? new AbortController().signal,
      attempt,
      progress: async (percent, message) => {
        await Promise.all([job.updateProgress(percent), o.state.event(data.jobId, { stage: o.stage, percent, message })]);
      },
    };
    const started = performance.now();
    try {
      const result = await o.fn({ job: data, upstream }, o.deps, ctx);
      const ms = performance.now() - started;
      await o.state.stageFinished(data.jobId, o.stage, ms, result.counts);
      o.onJobFinished?.(o.stage, ms, 'completed', { result, createdAt: job.timestamp });
      return result;
    } catch (error) {
      // A dependency said "slow down" (HTTP 429 Retry-After): rate-limit the whole queue for that long
      // and put the job back without burning an attempt (DESIGN §5 embed; needs the worker limiter).
      // Not a failure: no failure metric, no warning.
      const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
      if (typeof retryAfterMs === 'number' && retryAfterMs > 0 && !ctx.signal.aborted) {
        logger.info('rate limited by a dependency', { retry_after_ms: retryAfterMs });
        await worker.rateLimit(retryAfterMs);
        throw Worker.RateLimitError();
      }
      o.onJobFinished?.(o.stage, performance.now() - started, 'failed');
      if (o.control && ctx.signal.aborted && (await o.control.isCancelled(data.jobId))) throw cancelled();
      const described = describeError(error);
      logger.warn('stage failed', { code: described.code, message: described.message });
      if (error instanceof PipelineError && !error.retryable) {
        throw new UnrecoverableError(`${described.code}: ${described.message}`);
      }
      throw error;
    }
  };

  const worker = new Worker<StageJobData, R>(o.stage, processor, {
    connection: o.connection,
    prefix: o.config.queue.prefix,
    concurrency: o.concurrency ?? settings.concurrency,
    lockDuration: settings.lockDurationMs,
    maxStalledCount: MAX_STALLED_COUNT,
    stalledInterval: settings.stalledIntervalMs ?? 30_000,
    // A limiter is required for rateLimit() to work (DESIGN §6); this one never binds by itself.
    limiter: { max: 100_000, duration: 1000 },
    autorun: false,
  });

  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    // BullMQ fails a job whose worker died holding it more than maxStalledCount times: a crash loop.
    const crashLoop = error.message === STALL_LIMIT_MESSAGE;
    const described = crashLoop
      ? { code: ErrorCode.CrashLoop, message: `the ${o.stage} worker died holding this job ${MAX_STALLED_COUNT + 1} times (${STALL_LIMIT_MESSAGE})` }
      : describeError(error);
    // Bounded: a message may quote a file name or a parser's complaint; the state hash stays small.
    const reason = { code: described.code, message: described.message.slice(0, MAX_MESSAGE_CHARS) };
    void recordFinalFailure(job, reason, crashLoop).catch((e: unknown) =>
      o.logger.error('could not record final failure', { job_id: job.data.jobId, err: describeError(e) }),
    );
  });

  /** Dead letter first (stage, attempts, first/last seen), then the chain ends, so a FAILED state carries both. */
  const recordFinalFailure = async (job: Job<StageJobData, R>, reason: { code: string; message: string }, crashLoop: boolean) => {
    if (reason.code !== ErrorCode.Cancelled) {
      const lastSeen = job.finishedOn ?? Date.now();
      const firstSeen = Math.min((await o.state.firstTaken(job.data.jobId, o.stage)) ?? job.processedOn ?? lastSeen, lastSeen);
      // A crash loop's attempts are the runs that died (stalls), not BullMQ's one deferred failure.
      const attempts = crashLoop ? job.stalledCounter + Math.max(0, job.attemptsMade - 1) : job.attemptsMade;
      await o.state.recordFailure(job.data.jobId, { stage: o.stage, attempts, firstSeen, lastSeen });
    }
    await o.onFinalFailure(job.data, reason);
  };
  worker.on('error', (error) => o.logger.error('worker error', { stage: o.stage, err: describeError(error) }));

  if (o.control) {
    // A cancel published by any process reaches the process that holds the active job (a custom event on
    // the control stream, naming the version; this worker aborts its stage's job of it if it holds it).
    // BullMQ never closes a connection instance it was given, so this one is disconnected with the worker.
    const eventsConnection = o.connection.duplicate();
    eventsConnection.on('error', () => undefined); // reconnects by itself; the worker's own connection reports outages
    const events = new QueueEvents(CONTROL_EVENTS, { connection: eventsConnection, prefix: o.config.queue.prefix });
    (events as unknown as EventEmitter).on('cancel', (args: { jobId?: string }) => {
      if (args.jobId) worker.cancelJob(nodeJobId(args.jobId, o.stage), 'cancelled by an operator');
    });
    events.on('error', (error) => o.logger.error('queue events error', { stage: o.stage, err: describeError(error) }));
    worker.on('closed', () => void events.close().finally(() => eventsConnection.disconnect()));
  }
  return worker;
}
