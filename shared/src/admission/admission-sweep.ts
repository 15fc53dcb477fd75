import { parseJobId } from '../ids/ids.js';
import { keys } from '../ledger/keys.js';
import { artifactKeys } from '../pipeline/stage.types.js';
import type { StageJobData } from '../queue/topology.js';
import type { StuckAdmission } from '../ledger/ledger.js';
import type { Pipeline } from './pipeline.js';

/** Error code of a version whose submitter died before its chain existed and whose source bytes are gone. */
export const ADMISSION_INTERRUPTED = 'ADMISSION_INTERRUPTED';

/**
 * What the sweep did with one stuck admission: `finished` (flow added, or found added, under the same job
 * id), or `failed` (released as FAILED ADMISSION_INTERRUPTED; `promoted` is the parked version started).
 */
export type SweepOutcome =
  | { readonly jobId: string; readonly action: 'finished' }
  | { readonly jobId: string; readonly action: 'failed'; readonly promoted: string | null }
  /** The claim was held past its lease and taken over by someone else, who settles the version. */
  | { readonly jobId: string; readonly action: 'lost' };

/**
 * Settles admissions whose submitter died between the ledger step and the flow (issue 6, "nothing lost"):
 * nothing else ever would when the same content is not submitted again — a newer version waits parked
 * behind it for ever, and an API client may never come back. Each candidate is taken over with the
 * ledger's CAS (CLAIM: only a lapsed lease, the same rule as a resubmission's `resume`), so a live
 * admission, a concurrent resubmission and a second sweep are never raced; the release is fenced by the
 * claim's token. With the source artifact still stored the admission is finished exactly as a resubmitter
 * would; without it the version ends FAILED (its generation is never reused) and the parked one starts.
 */
export async function sweepStuckAdmissions(p: Pipeline, limit: number): Promise<SweepOutcome[]> {
  const outcomes: SweepOutcome[] = [];
  for (const { documentId, lapsedMs } of await p.ledger.lapsedAdmissionsSince(limit)) {
    if (lapsedMs < abandonAfterMs(p.leaseMs) && !(await settlesWithoutLoss(p, documentId))) continue;
    const claim = await p.ledger.claimStuck(documentId, p.leaseMs);
    if (claim) outcomes.push(await settle(p, claim));
  }
  return outcomes;
}

/**
 * A stuck admission whose bytes were never stored can only end FAILED, yet its submitter is often about
 * to come back: a restarted watcher rescans within seconds and resumes it under the same job id (F23).
 * So such an admission is abandoned only after several leases; one that can be finished (bytes stored,
 * or a tombstone) or that a newer version waits behind is settled as soon as its lease lapses.
 */
const abandonAfterMs = (leaseMs: number): number => 6 * leaseMs;

async function settlesWithoutLoss(p: Pipeline, documentId: string): Promise<boolean> {
  const [inFlight, op, pending] = await p.redis.hmget(keys.ledger(documentId), 'in_flight', 'in_flight_op', 'pending_job');
  if (!inFlight || op === 'delete' || pending) return true; // nothing to lose, nothing to wait for, or a newer version waits
  return (await p.artifacts.get(artifactKeys.source(inFlight))) !== null;
}

async function settle(p: Pipeline, c: StuckAdmission): Promise<SweepOutcome> {
  const parsed = parseJobId(c.jobId);
  if (!parsed) throw new Error(`INTERNAL: malformed job id ${c.jobId} in the ledger`);
  const state = await p.state.get(c.jobId);
  const data: StageJobData = {
    v: 1, op: c.op, jobId: c.jobId, documentId: c.documentId, generation: parsed.generation, tag: c.tag, sourceUri: c.sourceUri,
    checksum: c.checksum, contentType: state?.content_type ?? '',
  };
  // A tombstone carries no bytes; an ingest needs its source artifact (written before the job state).
  if (c.op === 'delete' || (await p.artifacts.get(artifactKeys.source(c.jobId))) !== null) {
    if (!state) {
      await p.state.create({ jobId: c.jobId, sourceUri: c.sourceUri, contentType: '', checksum: c.checksum, tag: c.tag,
        generation: parsed.generation, op: c.op, status: 'PENDING', reason: 'admission finished by the sweep' });
    }
    await p.resumeAdmission(data);
    return { jobId: c.jobId, action: 'finished' };
  }
  const { released, next } = await p.ledger.releaseStuck(c, parsed.generation, p.pipelineVersion, p.leaseMs);
  if (!released) return { jobId: c.jobId, action: 'lost' };
  const error = { code: ADMISSION_INTERRUPTED, message: 'the submitter stopped before the chain was created and the source bytes were not stored; submit the source again' };
  if (state) await p.state.setStatus(c.jobId, 'FAILED', { error });
  else {
    await p.state.create({ jobId: c.jobId, sourceUri: c.sourceUri, contentType: '', checksum: c.checksum, tag: c.tag,
      generation: parsed.generation, op: c.op, status: 'FAILED', error });
  }
  p.onOutcome?.('FAILED');
  await p.artifacts.deleteJob(c.jobId);
  if (next) await p.startParked(next);
  return { jobId: c.jobId, action: 'failed', promoted: next };
}
