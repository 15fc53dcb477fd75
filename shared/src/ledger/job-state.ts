import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import type { JobStatus, StageName } from '../queue/topology.js';

/** The `ingest:state:<job_id>` hash as read back (DESIGN §7). */
export interface JobState {
  readonly job_id: string;
  readonly source_uri: string;
  readonly content_type: string;
  readonly checksum: string;
  readonly tag: string;
  readonly generation: number;
  readonly op: 'ingest' | 'delete';
  readonly created_at: string;
  readonly updated_at: string;
  readonly status: JobStatus;
  readonly reason: string | null;
  readonly error: { code: string; message: string } | null;
  /** Dead-letter record (set only when a stage failed for good; cleared by `retry`): see {@link StageFailure}. */
  readonly failed_stage: StageName | null;
  readonly attempts: number | null;
  readonly first_seen: string | null;
  readonly last_seen: string | null;
  readonly report_path: string | null;
  readonly timings_ms: Partial<Record<StageName, number>>;
  readonly counts: Record<string, number>;
}

export interface ProgressEvent {
  readonly stage: string;
  readonly percent: number;
  readonly message: string;
  readonly ts: number;
}

/**
 * Where and how a chain failed for good: the stage, the attempts made there (BullMQ's attemptsMade, or the
 * worker deaths for a crash loop), when that stage first took the job and when its last attempt failed.
 * Never document bytes: the message is the bounded error message already stored in `error`.
 */
export interface StageFailure {
  readonly stage: StageName;
  readonly attempts: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

const FAILURE_FIELDS = ['failed_stage', 'attempts', 'first_seen', 'last_seen'] as const;
const seenField = (stage: StageName) => `seen_${stage}`;

/** KEYS: state, events[, flag]. ARGV: status, updated_at, seen field, now ms, events max length, stage, events TTL. */
const STAGE_STARTED = `
if #KEYS > 2 and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2])
redis.call('HSETNX', KEYS[1], ARGV[3], ARGV[4])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'stage', ARGV[6], 'percent', '0', 'message', 'started', 'ts', ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[7])
return 1`;

export interface NewJobState {
  readonly jobId: string;
  readonly sourceUri: string;
  readonly contentType: string;
  readonly checksum: string;
  readonly tag: string;
  readonly generation: number;
  readonly op: 'ingest' | 'delete';
  readonly status: JobStatus;
  readonly reason?: string;
  readonly error?: { code: string; message: string };
}

/** Job state hash, progress events stream and the recent-jobs index. Every key expires after the TTL. */
export class JobStateStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    private readonly eventsMaxLen: number,
  ) {}

  async create(s: NewJobState): Promise<void> {
    const now = new Date().toISOString();
    const key = keys.state(s.jobId);
    await this.redis
      .multi()
      .hset(key, {
        job_id: s.jobId,
        source_uri: s.sourceUri,
        content_type: s.contentType,
        checksum: s.checksum,
        tag: s.tag,
        generation: String(s.generation),
        op: s.op,
        created_at: now,
        updated_at: now,
        status: s.status,
        reason: s.reason ?? '',
        error: s.error ? JSON.stringify(s.error) : '',
      })
      .expire(key, this.ttlSeconds)
      .zadd(keys.recentJobs, Date.now(), s.jobId)
      .exec();
  }

  async setStatus(jobId: string, status: JobStatus, extra: { reason?: string; error?: { code: string; message: string } | null; reportPath?: string; timingsMs?: Partial<Record<StageName, number>> } = {}): Promise<void> {
    const fields: Record<string, string> = { status, updated_at: new Date().toISOString() };
    // A stage that ends the chain itself (verify) records its time with the end status, in one write:
    // whoever sees DONE sees every stage's time.
    for (const [stage, ms] of Object.entries(extra.timingsMs ?? {})) fields[`ms_${stage}`] = String(Math.round(ms));
    if (extra.reason !== undefined) fields.reason = extra.reason;
    if (extra.error !== undefined) fields.error = extra.error === null ? '' : JSON.stringify(extra.error);
    if (extra.reportPath !== undefined) fields.report_path = extra.reportPath;
    await this.redis.hset(keys.state(jobId), fields);
  }

  /**
   * A stage took the job: its status, when the stage first took it, a "started" event; one round trip.
   * With `unlessFlag`, nothing is written and false is returned when that key exists (a version's cancel
   * flag): the cancel check and the start are one step, not two round trips.
   */
  async stageStarted(jobId: string, status: JobStatus, stage: StageName, unlessFlag?: string): Promise<boolean> {
    const now = Date.now();
    const scriptKeys = [keys.state(jobId), keys.events(jobId), ...(unlessFlag === undefined ? [] : [unlessFlag])];
    const started = await this.redis.eval(STAGE_STARTED, scriptKeys.length, ...scriptKeys,
      status, new Date(now).toISOString(), seenField(stage), String(now), String(this.eventsMaxLen), stage, String(this.ttlSeconds));
    return started === 1;
  }

  /** Records when a stage first took this job (kept across its attempts; the first write wins). */
  async stageTaken(jobId: string, stage: StageName): Promise<void> {
    await this.redis.hsetnx(keys.state(jobId), seenField(stage), String(Date.now()));
  }

  /** When the stage first took this job (epoch ms), if it has. */
  async firstTaken(jobId: string, stage: StageName): Promise<number | null> {
    const v = await this.redis.hget(keys.state(jobId), seenField(stage));
    return v ? Number(v) : null;
  }

  /** Writes the dead-letter fields; the status and error are set by whoever ends the chain. */
  async recordFailure(jobId: string, f: StageFailure): Promise<void> {
    await this.redis.hset(keys.state(jobId), {
      failed_stage: f.stage,
      attempts: String(f.attempts),
      first_seen: new Date(f.firstSeen).toISOString(),
      last_seen: new Date(f.lastSeen).toISOString(),
    });
  }

  /**
   * Forgets a failure before a retry: the dead-letter fields and the failed stage's first-taken time, so a
   * later failure describes the retried run only (BullMQ's attempts are reset by the retry too).
   */
  async clearFailure(jobId: string, stage: StageName): Promise<void> {
    await this.redis.hdel(keys.state(jobId), ...FAILURE_FIELDS, seenField(stage));
  }

  async stageFinished(jobId: string, stage: StageName, ms: number, counts: Record<string, number>): Promise<void> {
    const fields: Record<string, string> = { [`ms_${stage}`]: String(Math.round(ms)) };
    for (const [k, v] of Object.entries(counts)) fields[`count_${k}`] = String(v);
    await this.redis
      .multi()
      .hset(keys.state(jobId), fields)
      .xadd(keys.events(jobId), 'MAXLEN', '~', String(this.eventsMaxLen), '*', 'stage', stage, 'percent', '100', 'message', 'done', 'ts', String(Date.now()))
      .exec();
  }

  async event(jobId: string, e: Omit<ProgressEvent, 'ts'>): Promise<void> {
    await this.redis.xadd(keys.events(jobId), 'MAXLEN', '~', String(this.eventsMaxLen), '*', 'stage', e.stage, 'percent', String(e.percent), 'message', e.message, 'ts', String(Date.now()));
  }

  async events(jobId: string, afterId = '-'): Promise<{ id: string; event: ProgressEvent }[]> {
    const start = afterId === '-' ? '-' : `(${afterId}`;
    const rows = await this.redis.xrange(keys.events(jobId), start, '+');
    return rows.map(([id, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
      return { id, event: { stage: f.stage ?? '', percent: Number(f.percent ?? 0), message: f.message ?? '', ts: Number(f.ts ?? 0) } };
    });
  }

  async get(jobId: string): Promise<JobState | null> {
    const h = await this.redis.hgetall(keys.state(jobId));
    if (!h.job_id) return null;
    const timings: Partial<Record<StageName, number>> = {};
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(h)) {
      if (k.startsWith('ms_')) timings[k.slice(3) as StageName] = Number(v);
      if (k.startsWith('count_')) counts[k.slice(6)] = Number(v);
    }
    return {
      job_id: h.job_id,
      source_uri: h.source_uri ?? '',
      content_type: h.content_type ?? '',
      checksum: h.checksum ?? '',
      tag: h.tag ?? '',
      generation: Number(h.generation ?? 0),
      op: (h.op as 'ingest' | 'delete') ?? 'ingest',
      created_at: h.created_at ?? '',
      updated_at: h.updated_at ?? '',
      status: h.status as JobStatus,
      reason: h.reason ? h.reason : null,
      error: h.error ? (JSON.parse(h.error) as { code: string; message: string }) : null,
      failed_stage: h.failed_stage ? (h.failed_stage as StageName) : null,
      attempts: h.attempts ? Number(h.attempts) : null,
      first_seen: h.first_seen ? h.first_seen : null,
      last_seen: h.last_seen ? h.last_seen : null,
      report_path: h.report_path ? h.report_path : null,
      timings_ms: timings,
      counts,
    };
  }

  async recent(limit: number): Promise<string[]> {
    return this.redis.zrevrange(keys.recentJobs, 0, limit - 1);
  }
}
