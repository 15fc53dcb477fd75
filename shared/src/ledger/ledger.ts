import type { Redis } from 'ioredis';
import { keys } from './keys.js';

/**
 * The per-document ledger (DESIGN §4), a Redis hash rebuildable from the graph. Admission is one Lua
 * compare-and-set, so two submissions of one document never both start a flow: one version in flight,
 * the newest later one parked as pending (an older parked one is superseded), unchanged content skipped.
 * Generations only grow; ids are never reused.
 */
const ADMIT = `
local h = KEYS[1]
local docId, checksum, pv, force, op, tag, uri = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local lease = tonumber(ARGV[8] or '0') or 0
local f = redis.call('HMGET', h, 'completed_checksum', 'pipeline_version', 'in_flight', 'in_flight_checksum',
  'in_flight_op', 'pending_job', 'pending_checksum', 'pending_op', 'generation', 'completed_generation',
  'admitting_job', 'admitting_until')
local completed, cpv, inflight, ifchk, ifop, pjob, pchk, pop = f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
local gen = tonumber(f[9] or '0') or 0
local cgen = f[10]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if inflight and inflight ~= '' then
  if pjob and pjob ~= '' then
    if pchk == checksum and pop == op and force ~= '1' then return {'dup', pjob, ''} end
  elseif ifchk == checksum and ifop == op and force ~= '1' then
    if f[11] == inflight then
      -- its admission has not finished (no flow yet): past the lease its admitter is taken for dead
      -- and this submitter, holding the same bytes, finishes it under the same job id
      if (tonumber(f[12]) or 0) <= now then
        redis.call('HSET', h, 'admitting_until', now + lease)
        redis.call('ZADD', KEYS[2], now + lease, docId)
        return {'resume', inflight, ''}
      end
      return {'dup', inflight, 'admitting'}
    end
    return {'dup', inflight, ''}
  end
  gen = gen + 1
  local job = docId .. '-g' .. gen
  redis.call('HSET', h, 'generation', gen, 'pending_job', job, 'pending_checksum', checksum, 'pending_op', op,
    'tag', tag, 'source_uri', uri)
  return {'park', job, pjob or ''}
end
if op == 'delete' then
  if not cgen or cgen == '' then return {'absent', '', ''} end
elseif completed == checksum and cpv == pv and force ~= '1' then
  return {'unchanged', docId .. '-g' .. cgen, ''}
end
gen = gen + 1
local job = docId .. '-g' .. gen
redis.call('HSET', h, 'generation', gen, 'in_flight', job, 'in_flight_checksum', checksum, 'in_flight_op', op,
  'tag', tag, 'source_uri', uri, 'status', 'PENDING', 'last_job', job)
if lease > 0 then
  redis.call('HSET', h, 'admitting_job', job, 'admitting_until', now + lease)
  redis.call('ZADD', KEYS[2], now + lease, docId)
end
return {'start', job, ''}
`;

/** The flow of ARGV[1] is added: its admission is complete (clears the lease ADMIT set, and its index entry). */
const ADMITTED = `
if redis.call('HGET', KEYS[1], 'admitting_job') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'admitting_job', 'admitting_until')
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 1
`;

/**
 * The admission sweep takes over an admission whose lease lapsed (its submitter died between the ledger
 * step and the flow): same condition as ADMIT's `resume`, so a resubmission and the sweep (or two sweeps)
 * never both get it. Returns the new lease end as a fencing token for the release. A stale index entry
 * (admission finished, or the document moved on) is dropped; a live one is re-scored to its lease end.
 */
const CLAIM = `
local h, docId, lease = KEYS[1], ARGV[1], tonumber(ARGV[2])
local f = redis.call('HMGET', h, 'in_flight', 'admitting_job', 'admitting_until', 'in_flight_op', 'in_flight_checksum', 'tag', 'source_uri')
if not f[1] or f[1] == '' or f[2] ~= f[1] then
  redis.call('ZREM', KEYS[2], docId)
  return {'none'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ends = tonumber(f[3]) or 0
if ends > now then
  redis.call('ZADD', KEYS[2], ends, docId)
  return {'live'}
end
redis.call('HSET', h, 'admitting_until', now + lease)
redis.call('ZADD', KEYS[2], now + lease, docId)
return {'claimed', f[1], tostring(now + lease), f[4] or 'ingest', f[5] or '', f[6] or '', f[7] or ''}
`;

/**
 * Ends the chain of ARGV[1] if it is the one in flight: records completion, then promotes the parked
 * version (returned so the caller starts its flow). ARGV[7] (a CLAIM token): only if that sweep still
 * holds the admission. ARGV[5] > 0: the promoted version holds an admission lease until its flow is added,
 * so a process dying in between leaves it to the sweep instead of in flight for ever.
 */
const FINISH = `
local h = KEYS[1]
local job, outcome, gen, pv, lease, docId, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5] or '0') or 0, ARGV[6], ARGV[7] or ''
local f = redis.call('HMGET', h, 'in_flight', 'in_flight_checksum', 'pending_job', 'pending_checksum', 'pending_op', 'admitting_job', 'admitting_until')
if f[1] ~= job then return {'stale', ''} end
if token ~= '' and (f[6] ~= job or f[7] ~= token) then return {'stale', ''} end
if f[6] == job then
  redis.call('HDEL', h, 'admitting_job', 'admitting_until')
  redis.call('ZREM', KEYS[2], docId)
end
if outcome == 'DONE' then
  redis.call('HSET', h, 'completed_checksum', f[2], 'completed_generation', gen, 'pipeline_version', pv)
elseif outcome == 'DELETED' then
  redis.call('HDEL', h, 'completed_checksum', 'completed_generation', 'pipeline_version')
end
redis.call('HSET', h, 'status', outcome, 'last_job', job)
if f[3] and f[3] ~= '' then
  redis.call('HSET', h, 'in_flight', f[3], 'in_flight_checksum', f[4], 'in_flight_op', f[5], 'status', 'PENDING')
  redis.call('HDEL', h, 'pending_job', 'pending_checksum', 'pending_op')
  if lease > 0 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('HSET', h, 'admitting_job', f[3], 'admitting_until', now + lease)
    redis.call('ZADD', KEYS[2], now + lease, docId)
  end
  return {'promote', f[3]}
end
redis.call('HSET', h, 'in_flight', '')
return {'idle', ''}
`;

export type AdmitDecision =
  | { action: 'start'; jobId: string }
  | { action: 'park'; jobId: string; supersededJobId: string | null }
  | { action: 'dup'; jobId: string; admitting?: true }
  /** The same content's admission was started by a submitter that died before adding the flow: finish it. */
  | { action: 'resume'; jobId: string }
  | { action: 'unchanged'; completedJobId: string }
  | { action: 'absent' };

/** An admission the sweep took over (CLAIM): what the ledger knows of the version, and the fencing token. */
export interface StuckAdmission {
  readonly documentId: string;
  readonly jobId: string;
  readonly token: string;
  readonly op: 'ingest' | 'delete';
  readonly checksum: string;
  readonly tag: string;
  readonly sourceUri: string;
}

export interface LedgerEntry {
  readonly documentId: string;
  readonly tag: string;
  readonly sourceUri: string;
  readonly generation: number;
  readonly completedGeneration: number | null;
  readonly completedChecksum: string | null;
  readonly pipelineVersion: string | null;
  readonly inFlight: string | null;
  readonly pendingJob: string | null;
  readonly status: string;
  readonly lastJob: string | null;
}

export class Ledger {
  constructor(private readonly redis: Redis) {}

  /**
   * `leaseMs` > 0: a started admission holds a lease until `admitted()` (its flow is added). A submitter
   * killed in between (reliability F23) leaves the version in flight with no flow; once the lease has
   * lapsed, the next submission of the same content gets `resume` and finishes the admission under the
   * same job id; before that it gets `dup` with `admitting` (try again after the lease).
   */
  async admit(a: { documentId: string; checksum: string; pipelineVersion: string; force: boolean; op: 'ingest' | 'delete'; tag: string; sourceUri: string; leaseMs?: number }): Promise<AdmitDecision> {
    const [action, job, other] = (await this.redis.eval(ADMIT, 2, keys.ledger(a.documentId), keys.admitting, a.documentId, a.checksum,
      a.pipelineVersion, a.force ? '1' : '0', a.op, a.tag, a.sourceUri, String(a.leaseMs ?? 0))) as [string, string, string];
    await this.redis.multi().sadd(keys.tagDocuments(a.tag), a.documentId).sadd(keys.sourceTags(a.sourceUri), a.tag).exec();
    switch (action) {
      case 'start': return { action, jobId: job };
      case 'park': return { action, jobId: job, supersededJobId: other || null };
      case 'dup': return other === 'admitting' ? { action, jobId: job, admitting: true } : { action, jobId: job };
      case 'resume': return { action, jobId: job };
      case 'unchanged': return { action, completedJobId: job };
      default: return { action: 'absent' };
    }
  }

  /** The admission of `jobId` is complete (its flow exists): releases its lease. */
  async admitted(documentId: string, jobId: string): Promise<void> {
    await this.redis.eval(ADMITTED, 2, keys.ledger(documentId), keys.admitting, jobId, documentId);
  }

  /**
   * Returns the job id of the parked version to start now, if any. `leaseMs` > 0: that version holds an
   * admission lease until `admitted()` (call it once its flow is added).
   */
  async finish(documentId: string, jobId: string, generation: number, outcome: string, pipelineVersion: string, leaseMs = 0): Promise<string | null> {
    const [action, next] = (await this.redis.eval(FINISH, 2, keys.ledger(documentId), keys.admitting, jobId, outcome, String(generation),
      pipelineVersion, String(leaseMs), documentId, '')) as [string, string];
    return action === 'promote' ? next : null;
  }

  /** Documents whose admission lease has lapsed (on Redis's clock), oldest first: candidates for `claimStuck`. */
  async lapsedAdmissions(limit: number): Promise<string[]> {
    return (await this.lapsedAdmissionsSince(limit)).map((l) => l.documentId);
  }

  /** The same, with how long ago each lease lapsed. */
  async lapsedAdmissionsSince(limit: number): Promise<{ documentId: string; lapsedMs: number }[]> {
    const [s, us] = await this.redis.time();
    const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    const flat = await this.redis.zrangebyscore(keys.admitting, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit);
    const out: { documentId: string; lapsedMs: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ documentId: flat[i]!, lapsedMs: now - Number(flat[i + 1]) });
    return out;
  }

  /** Takes over a lapsed admission for `leaseMs` (null: none, still live, or someone else has it). */
  async claimStuck(documentId: string, leaseMs: number): Promise<StuckAdmission | null> {
    const r = (await this.redis.eval(CLAIM, 2, keys.ledger(documentId), keys.admitting, documentId, String(leaseMs))) as string[];
    if (r[0] !== 'claimed') return null;
    return { documentId, jobId: r[1]!, token: r[2]!, op: r[3] === 'delete' ? 'delete' : 'ingest', checksum: r[4]!, tag: r[5]!, sourceUri: r[6]! };
  }

  /**
   * Ends a claimed admission that cannot be finished as FAILED (its generation is never reused) and
   * promotes the parked version under a fresh lease. `released` false: the claim was lost (lease lapsed).
   */
  async releaseStuck(c: StuckAdmission, generation: number, pipelineVersion: string, leaseMs: number): Promise<{ released: boolean; next: string | null }> {
    const [action, next] = (await this.redis.eval(FINISH, 2, keys.ledger(c.documentId), keys.admitting, c.jobId, 'FAILED', String(generation),
      pipelineVersion, String(leaseMs), c.documentId, c.token)) as [string, string];
    return { released: action !== 'stale', next: action === 'promote' ? next : null };
  }

  /** The newest generation allocated for the document (a store stage older than this is superseded). */
  async latestGeneration(documentId: string): Promise<number> {
    return Number((await this.redis.hget(keys.ledger(documentId), 'generation')) ?? 0);
  }

  async get(documentId: string): Promise<LedgerEntry | null> {
    const h = await this.redis.hgetall(keys.ledger(documentId));
    if (!h.generation) return null;
    const orNull = (v: string | undefined) => (v ? v : null);
    return {
      documentId,
      tag: h.tag ?? '',
      sourceUri: h.source_uri ?? '',
      generation: Number(h.generation),
      completedGeneration: h.completed_generation ? Number(h.completed_generation) : null,
      completedChecksum: orNull(h.completed_checksum),
      pipelineVersion: orNull(h.pipeline_version),
      inFlight: orNull(h.in_flight),
      pendingJob: orNull(h.pending_job),
      status: h.status ?? '',
      lastJob: orNull(h.last_job),
    };
  }

  /** Tags under which a source URI was ever submitted (so `ingestctl delete URI` needs no tag). */
  async tagsOfSource(sourceUri: string): Promise<string[]> {
    return this.redis.smembers(keys.sourceTags(sourceUri));
  }

  /**
   * Rewrites a document's completed state from the graph (the ledger is rebuildable from it, DESIGN §4).
   * Never touches a version in flight, and never lowers the generation counter.
   */
  async restoreCompleted(d: { documentId: string; tag: string; sourceUri: string; checksum: string; completedGeneration: number; pipelineVersion: string }): Promise<void> {
    const key = keys.ledger(d.documentId);
    const current = Number((await this.redis.hget(key, 'generation')) ?? 0);
    await this.redis.multi()
      .hset(key, {
        completed_checksum: d.checksum, completed_generation: String(d.completedGeneration), pipeline_version: d.pipelineVersion,
        generation: String(Math.max(current, d.completedGeneration)), tag: d.tag, source_uri: d.sourceUri, status: 'DONE',
      })
      .hsetnx(key, 'in_flight', '')
      .sadd(keys.tagDocuments(d.tag), d.documentId)
      .sadd(keys.sourceTags(d.sourceUri), d.tag)
      .exec();
  }

  /** Forgets the completed content so the next submission of the source is admitted even if unchanged. */
  async forgetCompleted(documentId: string): Promise<void> {
    await this.redis.hdel(keys.ledger(documentId), 'completed_checksum');
  }

  async documentsOfTag(tag: string): Promise<string[]> {
    return this.redis.smembers(keys.tagDocuments(tag));
  }
}
