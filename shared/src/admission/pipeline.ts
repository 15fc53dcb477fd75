import { randomBytes } from 'node:crypto';
import { FlowProducer, type FlowJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/config.types.js';
import { documentId as documentIdOf } from '../ids/ids.js';
import type { Logger } from '../logging/logger.js';
import { JobStateStore } from '../ledger/job-state.js';
import { Ledger } from '../ledger/ledger.js';
import { TieredArtifactStore } from '../artifacts/artifact-store.js';
import { S3ArtifactStore } from '../artifacts/s3-artifact-store.js';
import type { ArtifactStore } from '../ports/artifact-store.js';
import { artifactKeys } from '../pipeline/stage.types.js';
import { deleteFlow, ingestFlow } from '../queue/flows.js';
import { parseJobId } from '../ids/ids.js';
import type { JobStatus, StageJobData } from '../queue/topology.js';
import { inspectSubmission } from './inspect.js';
import { ChainControl, type ControlResult } from './chain-control.js';
import { keys } from '../ledger/keys.js';
import type { LedgerEntry } from '../ledger/ledger.js';
import { ADMISSION_INTERRUPTED, sweepStuckAdmissions, type SweepOutcome } from './admission-sweep.js';
import { quietOnConnectionErrors } from '../queue/redis.js';

/** Bumped when a change to parsing, extraction or storage must re-ingest unchanged sources. */
export const PIPELINE_CODE_VERSION = 'p1';

export interface Submission {
  readonly bytes: Uint8Array;
  readonly sourceUri: string;
  readonly tag: string;
  readonly contentType: string;
  readonly force?: boolean;
}

/** One submission's outcome, the element of `ingestctl ingest --json` `jobs` (DESIGN §10). */
export interface SubmitResult {
  readonly job_id: string;
  readonly source_uri: string;
  readonly status: JobStatus;
  readonly reason?: string;
  readonly error: { code: string; message: string } | null;
}

export type ChainOutcome = 'DONE' | 'FAILED' | 'SUPERSEDED' | 'DELETED' | 'CANCELLED';

/**
 * Admission and chain ends: the compare-and-set on the ledger, one FlowProducer flow per admitted version,
 * and the promotion of a parked version when the running one ends (DESIGN §4).
 */
export class Pipeline {
  /** SubmitResult.reason when the same content's admission is still being finished by another submitter. */
  static readonly ADMITTING = 'admitting';
  readonly ledger: Ledger;
  readonly state: JobStateStore;
  readonly artifacts: ArtifactStore;
  /** Metrics hook: a document version reached an outcome (chain end, or refused/skipped at admission). */
  onOutcome?: (outcome: JobStatus) => void;
  readonly control: ChainControl;
  private readonly flows: FlowProducer;

  constructor(
    private readonly config: AppConfig,
    readonly redis: Redis,
    private readonly logger: Logger,
    readonly pipelineVersion: string,
  ) {
    this.ledger = new Ledger(redis);
    this.state = new JobStateStore(redis, config.state.ttlSeconds, config.state.eventsMaxLen);
    const a = config.artifacts;
    this.artifacts = a.s3
      ? new S3ArtifactStore(redis, { bucket: a.s3.bucket, prefix: a.s3.prefix, redisMaxBytes: a.redisMaxBytes, ttlSeconds: a.ttlSeconds })
      : new TieredArtifactStore(redis, config.dataDir, a.redisMaxBytes, a.ttlSeconds);
    this.flows = quietOnConnectionErrors(new FlowProducer({ connection: redis, prefix: config.queue.prefix }));
    this.control = new ChainControl(config, redis, this.state);
    this.leaseMs = config.admission.leaseMs ?? 5000;
  }

  /** How long an admission may take between its ledger entry and its flow before another submitter finishes it. */
  readonly leaseMs: number;

  async ledgerEntryOf(tag: string, sourceUri: string): Promise<LedgerEntry | null> {
    return this.ledger.get(documentIdOf(tag, sourceUri));
  }

  /** Cancels a version until its first store stage starts (DESIGN §6); afterwards answers TOO_LATE. */
  async cancel(jobId: string): Promise<ControlResult> {
    const st = await this.state.get(jobId);
    const parsed = parseJobId(jobId);
    if (!st || !parsed) return { ok: false, job_id: jobId, code: 'NOT_FOUND', message: 'no such job' };
    if (st.status === 'CANCELLED') return { ok: true, job_id: jobId, status: 'CANCELLED' };
    if (['DONE', 'DELETED', 'FAILED', 'REJECTED', 'SKIPPED', 'SUPERSEDED'].includes(st.status)) {
      return { ok: false, job_id: jobId, code: 'NOT_CANCELLABLE', message: `the job already ended ${st.status}` };
    }
    const data = this.jobData(jobId, st.op, st.tag, st.source_uri, st.checksum, st.content_type);
    const outcome = await this.control.cancel(jobId, keys.ledger(parsed.documentId));
    if (outcome === 'too_late') {
      return { ok: false, job_id: jobId, code: 'TOO_LATE', message: 'the version already reached the stores; it will commit' };
    }
    if (outcome === 'unparked') {
      await this.retireParked(jobId, 'CANCELLED', 'cancelled before it started');
      return { ok: true, job_id: jobId, status: 'CANCELLED' };
    }
    if (outcome === 'removed') await this.finishChain(data, 'CANCELLED', { error: { code: 'CANCELLED', message: 'cancelled by an operator' } });
    const status = await this.control.waitFinal(jobId, 15_000);
    return status === 'CANCELLED' ? { ok: true, job_id: jobId, status } : { ok: false, job_id: jobId, code: 'CANCEL_PENDING', message: `the job is ${status}; the active stage has not stopped yet` };
  }

  async retry(jobId: string): Promise<ControlResult> {
    const parsed = parseJobId(jobId);
    if (!parsed) return { ok: false, job_id: jobId, code: 'NOT_FOUND', message: 'no such job' };
    // Never had a chain (the sweep released it): re-admitting it in the ledger would leave it in flight for ever.
    if ((await this.state.get(jobId))?.error?.code === ADMISSION_INTERRUPTED) {
      return { ok: false, job_id: jobId, code: 'NOTHING_TO_RETRY', message: 'the admission was interrupted before its chain existed; ingest the source again' };
    }
    return this.control.retry(jobId, keys.ledger(parsed.documentId));
  }

  async submit(s: Submission): Promise<SubmitResult> {
    const inspection = inspectSubmission(s.bytes, this.config.admission);
    const docId = documentIdOf(s.tag, s.sourceUri);
    if (!inspection.ok) return this.refuse(s, inspection.status === 'REJECTED' ? inspection : { status: 'SKIPPED', reason: inspection.reason });
    const decision = await this.ledger.admit({ documentId: docId, checksum: inspection.checksum, pipelineVersion: this.pipelineVersion,
      force: s.force ?? false, op: 'ingest', tag: s.tag, sourceUri: s.sourceUri, leaseMs: this.leaseMs });
    switch (decision.action) {
      case 'unchanged': {
        const jobId = this.submissionId(docId);
        await this.state.create({ jobId, sourceUri: s.sourceUri, contentType: s.contentType, checksum: inspection.checksum, tag: s.tag, generation: 0, op: 'ingest', status: 'SKIPPED', reason: 'unchanged' });
        this.onOutcome?.('SKIPPED');
        return { job_id: jobId, source_uri: s.sourceUri, status: 'SKIPPED', reason: 'unchanged', error: null };
      }
      case 'dup': {
        const current = await this.state.get(decision.jobId);
        // `admitting`: another submitter is between admission and its flow; try again after the lease.
        return { job_id: decision.jobId, source_uri: s.sourceUri, status: current?.status ?? 'PENDING', ...(decision.admitting ? { reason: Pipeline.ADMITTING } : {}), error: null };
      }
      case 'absent':
        throw new Error('unreachable: ingest admission never answers absent');
      case 'start':
      case 'resume':
      case 'park': {
        const data = this.jobData(decision.jobId, 'ingest', s.tag, s.sourceUri, inspection.checksum, s.contentType);
        await this.artifacts.put(artifactKeys.source(data.jobId), Buffer.from(inspection.text));
        // A resumed admission keeps the state its dead submitter may have written.
        if (decision.action !== 'resume' || !(await this.state.get(data.jobId))) {
          await this.state.create({ jobId: data.jobId, sourceUri: s.sourceUri, contentType: s.contentType, checksum: inspection.checksum,
            tag: s.tag, generation: data.generation, op: 'ingest', status: 'PENDING', reason: decision.action === 'park' ? 'parked' : undefined });
        }
        if (decision.action === 'park') {
          if (decision.supersededJobId) await this.retireParked(decision.supersededJobId);
        } else await this.addFlow(decision.action === 'resume', data, ingestFlow(this.config, data));
        return { job_id: data.jobId, source_uri: s.sourceUri, status: 'PENDING', error: null };
      }
    }
  }

  /**
   * Records a submission refused before admission (REJECTED with a code, or SKIPPED with a reason): a job
   * id and a final state, no flow. Sources call it directly when they refuse without reading the bytes
   * (a spool file over the size cap, reliability B6).
   */
  async refuse(s: Omit<Submission, 'bytes'>, r: { status: 'REJECTED'; code: string; message: string } | { status: 'SKIPPED'; reason: string }): Promise<SubmitResult> {
    const jobId = this.submissionId(documentIdOf(s.tag, s.sourceUri));
    const error = r.status === 'REJECTED' ? { code: r.code, message: r.message } : undefined;
    const reason = r.status === 'SKIPPED' ? r.reason : r.code;
    await this.state.create({ jobId, sourceUri: s.sourceUri, contentType: s.contentType, checksum: '', tag: s.tag, generation: 0, op: 'ingest', status: r.status, reason, error });
    this.onOutcome?.(r.status);
    return { job_id: jobId, source_uri: s.sourceUri, status: r.status, reason, error: error ?? null };
  }

  /** Admits a tombstone: vector{delete} → graph{delete} → verify{delete}, ending DELETED. */
  async tombstone(sourceUri: string, tag: string): Promise<SubmitResult> {
    const docId = documentIdOf(tag, sourceUri);
    const decision = await this.ledger.admit({ documentId: docId, checksum: '', pipelineVersion: this.pipelineVersion, force: false, op: 'delete', tag, sourceUri, leaseMs: this.leaseMs });
    if (decision.action === 'absent') {
      const jobId = this.submissionId(docId);
      await this.state.create({ jobId, sourceUri, contentType: '', checksum: '', tag, generation: 0, op: 'delete', status: 'SKIPPED', reason: 'not_found' });
      this.onOutcome?.('SKIPPED');
      return { job_id: jobId, source_uri: sourceUri, status: 'SKIPPED', reason: 'not_found', error: null };
    }
    if (decision.action === 'dup' || decision.action === 'unchanged') {
      const jobId = decision.action === 'dup' ? decision.jobId : decision.completedJobId;
      const admitting = decision.action === 'dup' && decision.admitting ? { reason: Pipeline.ADMITTING } : {};
      return { job_id: jobId, source_uri: sourceUri, status: (await this.state.get(jobId))?.status ?? 'PENDING', ...admitting, error: null };
    }
    const data = this.jobData(decision.jobId, 'delete', tag, sourceUri, '', '');
    if (decision.action !== 'resume' || !(await this.state.get(data.jobId))) {
      await this.state.create({ jobId: data.jobId, sourceUri, contentType: '', checksum: '', tag, generation: data.generation, op: 'delete', status: 'PENDING' });
    }
    if (decision.action === 'park') {
      if (decision.supersededJobId) await this.retireParked(decision.supersededJobId);
    } else await this.addFlow(decision.action === 'resume', data, deleteFlow(this.config, data));
    return { job_id: data.jobId, source_uri: sourceUri, status: 'PENDING', error: null };
  }

  /** Ends a chain: final status, ledger completion, artifacts released, and the parked version started. */
  async finishChain(data: StageJobData, outcome: ChainOutcome, extra: { error?: { code: string; message: string }; reportPath?: string; timingsMs?: { verify: number } } = {}): Promise<void> {
    await this.state.setStatus(data.jobId, outcome, extra);
    this.onOutcome?.(outcome);
    if (outcome === 'CANCELLED') await this.control.removeChain(data.jobId);
    // The promoted version holds an admission lease until its flow is added (a death in between → the sweep).
    const next = await this.ledger.finish(data.documentId, data.jobId, data.generation, outcome, this.pipelineVersion, this.leaseMs);
    // A FAILED chain keeps its artifacts so it can be resumed (ingestctl retry); the janitor expires them.
    if (outcome !== 'FAILED') await this.artifacts.deleteJob(data.jobId);
    if (next) await this.startParked(next);
  }

  /** True when the ledger already holds a newer generation than this job's (DESIGN §4: SUPERSEDED). */
  async isSuperseded(data: StageJobData): Promise<boolean> {
    return (await this.ledger.latestGeneration(data.documentId)) > data.generation;
  }

  async close(): Promise<void> {
    await this.control.close();
    await this.flows.close();
    if (this.artifacts instanceof TieredArtifactStore) this.artifacts.close();
  }

  /** Finds admissions whose submitter died before adding their flow and finishes or releases them. */
  async sweepStuckAdmissions(limit = 100): Promise<SweepOutcome[]> {
    return sweepStuckAdmissions(this, limit);
  }

  /** Finishes a taken-over admission (the resume path): adds the flow unless its root job exists, releases the lease. */
  async resumeAdmission(data: StageJobData): Promise<void> {
    await this.addFlow(true, data, data.op === 'delete' ? deleteFlow(this.config, data) : ingestFlow(this.config, data));
  }

  /**
   * Adds an admitted version's flow and releases its admission lease. A resumed admission adds it only
   * if its dead submitter had not (the flow's root job exists once FlowProducer.add has run).
   */
  private async addFlow(resumed: boolean, data: StageJobData, flow: FlowJob): Promise<void> {
    const rootKey = `${this.config.queue.prefix}:${flow.queueName}:${flow.opts?.jobId ?? ''}`;
    if (!resumed || !(await this.redis.exists(rootKey))) await this.flows.add(flow);
    await this.ledger.admitted(data.documentId, data.jobId);
  }

  /** Starts a promoted version (ledger.finish holds a lease for it: without state the sweep settles it later). */
  async startParked(jobId: string): Promise<void> {
    const st = await this.state.get(jobId);
    if (!st) {
      this.logger.error('parked job has no state; cannot start it', { job_id: jobId });
      return;
    }
    const data = this.jobData(jobId, st.op, st.tag, st.source_uri, st.checksum, st.content_type);
    await this.state.setStatus(jobId, 'PENDING', { reason: '' });
    await this.resumeAdmission(data);
  }

  private async retireParked(jobId: string, status: 'SUPERSEDED' | 'CANCELLED' = 'SUPERSEDED', reason = 'a newer version arrived before this one started'): Promise<void> {
    await this.state.setStatus(jobId, status, { reason });
    this.onOutcome?.(status);
    await this.artifacts.deleteJob(jobId);
  }

  private jobData(jobId: string, op: 'ingest' | 'delete', tag: string, sourceUri: string, checksum: string, contentType: string): StageJobData {
    const parsed = parseJobId(jobId);
    if (!parsed) throw new Error(`INTERNAL: malformed job id ${jobId}`);
    return { v: 1, op, jobId, documentId: parsed.documentId, generation: parsed.generation, tag, sourceUri, checksum, contentType };
  }

  /** Ids for submissions that start no chain (REJECTED, SKIPPED): never of the `-g<n>` form. */
  private submissionId(docId: string): string {
    return `${docId}-s${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  }
}
