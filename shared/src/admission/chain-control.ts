import { Queue, QueueEventsProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import { quietOnConnectionErrors } from '../queue/redis.js';
import type { AppConfig } from '../config/config.types.js';
import type { JobStateStore } from '../ledger/job-state.js';
import { CONTROL_EVENTS, DELETE_STAGES, FINAL_STATUSES, nodeJobId, STAGES, type StageName } from '../queue/topology.js';

/**
 * Cancel marks a version before its first store stage may start; that stage claims the version as
 * committed in the same Lua step, so exactly one of "cancelled" and "committed" wins (DESIGN §6).
 */
const CANCEL = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 'too_late' end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return 'ok'`;
const COMMIT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'cancelled' end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
return 'ok'`;
/** Re-admits a FAILED version as the one in flight, unless another runs or a newer one exists. */
const RESUME = `
local f = redis.call('HMGET', KEYS[1], 'in_flight', 'generation')
if f[1] and f[1] ~= '' and f[1] ~= ARGV[1] then return 'busy' end
if tonumber(f[2] or '0') > tonumber(ARGV[2]) then return 'superseded' end
redis.call('HSET', KEYS[1], 'in_flight', ARGV[1], 'in_flight_checksum', ARGV[3], 'in_flight_op', ARGV[4], 'status', 'PENDING')
return 'ok'`;
/** Drops a parked (not yet started) version. */
const UNPARK = `
if redis.call('HGET', KEYS[1], 'pending_job') ~= ARGV[1] then return 'no' end
redis.call('HDEL', KEYS[1], 'pending_job', 'pending_checksum', 'pending_op')
return 'ok'`;

export type ControlResult = { ok: true; job_id: string; status: string } | { ok: false; job_id: string; code: string; message: string };

export const cancelKeys = (jobId: string) => [`ingest:cancel:${jobId}`, `ingest:committed:${jobId}`] as const;

export class ChainControl {
  private readonly queues: Record<StageName, Queue>;
  private readonly broadcast: QueueEventsProducer;

  constructor(private readonly config: AppConfig, private readonly redis: Redis, private readonly state: JobStateStore) {
    const opts = { connection: redis, prefix: config.queue.prefix };
    this.queues = Object.fromEntries(STAGES.map((s) => [s, quietOnConnectionErrors(new Queue(s, opts))])) as Record<StageName, Queue>;
    this.broadcast = quietOnConnectionErrors(new QueueEventsProducer(CONTROL_EVENTS, opts));
  }

  /** Called by the first store stage before it writes anything. */
  async commit(jobId: string): Promise<'ok' | 'cancelled'> {
    const [cancel, committed] = cancelKeys(jobId);
    return (await this.redis.eval(COMMIT, 2, cancel, committed, String(this.config.state.ttlSeconds))) as 'ok' | 'cancelled';
  }

  cancelFlag(jobId: string): string {
    return cancelKeys(jobId)[0];
  }

  async isCancelled(jobId: string): Promise<boolean> {
    return (await this.redis.exists(cancelKeys(jobId)[0])) === 1;
  }

  /**
   * Marks the version cancelled, aborts its active stage in whichever process holds it (one custom
   * QueueEvents event on the control stream, which every stage worker reads), and removes the chain when
   * nothing holds it.
   * Returns 'removed' when the chain is gone now, 'aborting' when an active stage still has to stop.
   */
  async cancel(jobId: string, ledgerKey: string): Promise<'removed' | 'aborting' | 'unparked' | 'too_late'> {
    const [cancel, committed] = cancelKeys(jobId);
    if ((await this.redis.eval(CANCEL, 2, cancel, committed, String(this.config.state.ttlSeconds))) === 'too_late') return 'too_late';
    if ((await this.redis.eval(UNPARK, 1, ledgerKey, jobId)) === 'ok') return 'unparked';
    await this.broadcast.publishEvent({ eventName: 'cancel', jobId });
    return (await this.removeChain(jobId)) ? 'removed' : 'aborting';
  }

  /** Removes a chain from its root; false while one of its jobs is locked by a worker. */
  async removeChain(jobId: string): Promise<boolean> {
    const removed = await this.queues.verify.remove(nodeJobId(jobId, 'verify'), { removeChildren: true });
    return removed === 1 || (await this.queues.verify.getJob(nodeJobId(jobId, 'verify'))) === undefined;
  }

  /** Resumes a FAILED chain from the stage that failed (its artifacts were kept). */
  async retry(jobId: string, ledgerKey: string): Promise<ControlResult> {
    const st = await this.state.get(jobId);
    if (!st) return { ok: false, job_id: jobId, code: 'NOT_FOUND', message: 'no such job' };
    if (st.status !== 'FAILED') return { ok: false, job_id: jobId, code: 'NOT_FAILED', message: `the job is ${st.status}; only FAILED jobs can be retried` };
    const resumed = (await this.redis.eval(RESUME, 1, ledgerKey, jobId, String(st.generation), st.checksum, st.op)) as string;
    if (resumed === 'busy') return { ok: false, job_id: jobId, code: 'BUSY', message: 'another version of this document is in flight' };
    if (resumed === 'superseded') return { ok: false, job_id: jobId, code: 'SUPERSEDED', message: 'a newer version of this document exists' };
    const order = st.op === 'delete' ? DELETE_STAGES : STAGES;
    for (const stage of order) {
      const job = await this.queues[stage].getJob(nodeJobId(jobId, stage));
      if (job && (await job.getState()) === 'failed') {
        await this.redis.del(...cancelKeys(jobId));
        // The dead letter is cleared, not kept beside a live run: the retried run starts a fresh record
        // (and a fresh attempts budget), and a DONE job carries no failure fields (`reason` keeps the trace).
        await this.state.clearFailure(jobId, stage);
        await this.state.setStatus(jobId, 'PENDING', { reason: `retried from ${stage}`, error: null });
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return { ok: true, job_id: jobId, status: 'PENDING' };
      }
    }
    return { ok: false, job_id: jobId, code: 'NOTHING_TO_RETRY', message: 'the failed stage job is gone (retention); ingest the source again' };
  }

  /** Waits until the job's state is final (cancel returns once the abort has landed). */
  async waitFinal(jobId: string, timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.state.get(jobId);
      if (st && FINAL_STATUSES.has(st.status)) return st.status;
      if (Date.now() > deadline) return st?.status ?? null;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...Object.values(this.queues).map((q) => q.close()), this.broadcast.close()]);
  }
}

