import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SerialisedError } from './parse-worker.js';
import { ErrorCode, PermanentError, RetryableError } from './shared.js';
import type { ParseOptions, ParsedDocument } from './types.js';

/**
 * A small pool of reusable worker threads running parseMarkdown (DESIGN §5 parse: "parsing runs in a
 * worker thread with time and memory limits"), so a pathological document fails its job, not the process.
 *
 *  - A job running longer than its timeout: the thread is terminated and replaced; the job rejects with
 *    PermanentError PARSE_TIMEOUT. The clock starts when a warm thread takes the job (not while queued).
 *  - A thread killed by its heap limit (`resourceLimits.maxOldGenerationSizeMb`): replaced; the job
 *    rejects with PermanentError PARSE_TIMEOUT, message "parse exceeded memory limit (N MB)". (The design
 *    files both limits under PARSE_TIMEOUT; the message tells them apart.)
 *  - Errors thrown inside the worker come back re-created: PermanentError/RetryableError with the same
 *    code and message; anything else as an Error with the same name and message.
 *  - Any other thread death rejects with a (retryable) Error and the thread is replaced.
 *  - Threads start eagerly and stay warm; idle threads are unref'd, so an idle pool never keeps the
 *    process alive. Three consecutive start-up failures stop respawning and reject waiting jobs.
 */
export interface ParsePoolOptions {
  /** Worker threads (default 2). */
  readonly size?: number;
  /** Default per-job time limit (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** V8 old-generation heap cap per thread (default 512 MB). */
  readonly maxOldGenerationSizeMb?: number;
  /**
   * V8 young-generation cap per thread (default 12 MB). mdast allocates a tree per 64 KB segment and
   * drops it; with V8's default nursery (up to 3 × 16 MB semi-spaces, grown under allocation pressure)
   * those short-lived trees were promoted and a 3 MB document took the process from ~115 to ~390 MB.
   * A small nursery collects them young: ~120 MB peak for the same document.
   */
  readonly maxYoungGenerationSizeMb?: number;
}

export interface ParseJobOptions {
  /** Overrides the pool's timeout for this job. */
  readonly timeoutMs?: number;
  /** Aborting rejects the job with the signal's reason (terminating its thread if it is running). */
  readonly signal?: AbortSignal;
}

export const PARSE_POOL_DEFAULTS = { size: 2, timeoutMs: 10_000, maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 12 } as const;

const WORKER_URL = new URL(
  fileURLToPath(import.meta.url).endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js',
  import.meta.url,
);
const MAX_STARTUP_FAILURES = 3;

interface Job {
  readonly id: number;
  readonly text: string;
  readonly opts: ParseOptions;
  readonly timeoutMs: number;
  readonly resolve: (doc: ParsedDocument) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  dead: boolean;
  job: Job | null;
  timer: NodeJS.Timeout | null;
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; ok: true; value: ParsedDocument }
  | { type: 'result'; id: number; ok: false; error: SerialisedError };

export class ParsePool {
  readonly size: number;
  readonly timeoutMs: number;
  readonly maxOldGenerationSizeMb: number;
  readonly maxYoungGenerationSizeMb: number;
  private readonly slots = new Set<Slot>();
  private queue: Job[] = [];
  private closed = false;
  private nextId = 1;
  private startupFailures = 0;
  private readyWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Threads started over the pool's life (replacements included); for tests and metrics. */
  spawned = 0;

  constructor(options: ParsePoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? PARSE_POOL_DEFAULTS.size));
    this.timeoutMs = options.timeoutMs ?? PARSE_POOL_DEFAULTS.timeoutMs;
    this.maxOldGenerationSizeMb = options.maxOldGenerationSizeMb ?? PARSE_POOL_DEFAULTS.maxOldGenerationSizeMb;
    this.maxYoungGenerationSizeMb = options.maxYoungGenerationSizeMb ?? PARSE_POOL_DEFAULTS.maxYoungGenerationSizeMb;
    this.fill();
  }

  /** Resolves once every thread has loaded the parser (optional: parse() waits for a warm thread anyway). */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('parse pool is closed'));
    if (this.allReady()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      this.updateRefs();
    });
  }

  parse(text: string, opts: ParseOptions, jobOptions: ParseJobOptions = {}): Promise<ParsedDocument> {
    if (this.closed) return Promise.reject(new Error('parse pool is closed'));
    const { signal } = jobOptions;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<ParsedDocument>((resolve, reject) => {
      const job: Job = {
        id: this.nextId++,
        text,
        opts,
        timeoutMs: jobOptions.timeoutMs ?? this.timeoutMs,
        resolve,
        reject,
        signal,
        onAbort: null,
      };
      if (signal) {
        job.onAbort = () => this.abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      if (this.slots.size < this.size) {
        this.startupFailures = 0;
        this.fill();
      }
      this.pump();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('parse pool is closed');
    for (const job of this.queue.splice(0)) this.settle(job, error);
    for (const w of this.readyWaiters.splice(0)) w.reject(error);
    const terminations: Promise<unknown>[] = [];
    for (const slot of [...this.slots]) {
      if (slot.job) this.settle(slot.job, error);
      slot.job = null;
      slot.dead = true;
      if (slot.timer) clearTimeout(slot.timer);
      this.slots.delete(slot);
      terminations.push(slot.worker.terminate());
    }
    await Promise.allSettled(terminations);
  }

  private allReady(): boolean {
    return this.slots.size >= this.size && [...this.slots].every((s) => s.ready);
  }

  private fill(): void {
    while (!this.closed && this.slots.size < this.size) this.spawn();
  }

  private spawn(): void {
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.maxOldGenerationSizeMb, maxYoungGenerationSizeMb: this.maxYoungGenerationSizeMb },
    });
    this.spawned++;
    const slot: Slot = { worker, ready: false, dead: false, job: null, timer: null };
    this.slots.add(slot);
    worker.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    worker.on('error', (e) => this.onDeath(slot, e));
    worker.on('exit', (code) => this.onDeath(slot, new Error(`parse worker exited with code ${code}`)));
    this.updateRefs();
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    if (slot.dead) return;
    if (m.type === 'ready') {
      slot.ready = true;
      this.startupFailures = 0;
      if (this.allReady()) for (const w of this.readyWaiters.splice(0)) w.resolve();
      this.pump(); // also updates refs
      return;
    }
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    if (m.ok) this.settle(job, null, m.value);
    else this.settle(job, reviveError(m.error));
    this.pump();
  }

  private onDeath(slot: Slot, error: Error): void {
    if (slot.dead) return;
    slot.dead = true;
    this.slots.delete(slot);
    if (slot.timer) clearTimeout(slot.timer);
    const job = slot.job;
    slot.job = null;
    if (job) {
      const oom = (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.settle(
        job,
        oom
          ? new PermanentError(
              ErrorCode.ParseTimeout,
              `parse exceeded memory limit (${this.maxOldGenerationSizeMb} MB heap)`,
              { cause: error },
            )
          : new Error(`parse worker died: ${error.message}`, { cause: error }),
      );
    }
    if (this.closed) return;
    if (!slot.ready && !job) {
      this.startupFailures++;
      if (this.startupFailures >= MAX_STARTUP_FAILURES) {
        const failure = new Error(`parse worker failed to start: ${error.message}`, { cause: error });
        for (const j of this.queue.splice(0)) this.settle(j, failure);
        for (const w of this.readyWaiters.splice(0)) w.reject(failure);
        this.updateRefs();
        return;
      }
    }
    this.fill();
    this.pump();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (!slot.ready || slot.dead || slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.timer = setTimeout(() => this.onTimeout(slot, job), job.timeoutMs);
      slot.worker.postMessage({ type: 'parse', id: job.id, text: job.text, opts: job.opts });
    }
    this.updateRefs();
  }

  private onTimeout(slot: Slot, job: Job): void {
    if (slot.job !== job) return;
    this.kill(slot);
    this.settle(job, new PermanentError(ErrorCode.ParseTimeout, `parse exceeded ${job.timeoutMs} ms`));
    this.fill();
    this.pump();
  }

  private abort(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued !== -1) {
      this.queue.splice(queued, 1);
      this.settle(job, job.signal?.reason ?? new Error('aborted'));
      this.updateRefs();
      return;
    }
    for (const slot of this.slots) {
      if (slot.job !== job) continue;
      this.kill(slot);
      this.settle(job, job.signal?.reason ?? new Error('aborted'));
      this.fill();
      this.pump();
      return;
    }
  }

  /** Terminate a busy thread on purpose (timeout, abort); its exit is not a failure. */
  private kill(slot: Slot): void {
    slot.dead = true;
    slot.job = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    this.slots.delete(slot);
    void slot.worker.terminate();
  }

  private settle(job: Job, error: unknown, value?: ParsedDocument): void {
    if (job.signal && job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
    job.onAbort = null;
    if (error) job.reject(error);
    else job.resolve(value!);
  }

  /** Keep the process alive only while there is work. */
  private updateRefs(): void {
    const busy = this.queue.length > 0 || this.readyWaiters.length > 0 || [...this.slots].some((s) => s.job !== null);
    for (const s of this.slots) {
      if (busy) s.worker.ref();
      else s.worker.unref();
    }
  }
}

function reviveError(e: SerialisedError): Error {
  if (e.code !== null) {
    const revived = e.permanent ? new PermanentError(e.code, e.message) : new RetryableError(e.code, e.message);
    return revived;
  }
  const error = new Error(e.message);
  error.name = e.name;
  return error;
}

const sharedPools = new Map<number, ParsePool>();

/**
 * Parse in a shared warm pool (one per memory limit; size 2). The timeout applies per call.
 * Call closeParsePools() at shutdown.
 */
export function parseInWorker(
  text: string,
  opts: ParseOptions,
  limits: { timeoutMs: number; maxOldGenerationSizeMb: number; signal?: AbortSignal },
): Promise<ParsedDocument> {
  let pool = sharedPools.get(limits.maxOldGenerationSizeMb);
  if (!pool) {
    pool = new ParsePool({ maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb, timeoutMs: limits.timeoutMs });
    sharedPools.set(limits.maxOldGenerationSizeMb, pool);
  }
  return pool.parse(text, opts, { timeoutMs: limits.timeoutMs, ...(limits.signal ? { signal: limits.signal } : {}) });
}

export async function closeParsePools(): Promise<void> {
  const pools = [...sharedPools.values()];
  sharedPools.clear();
  await Promise.all(pools.map((p) => p.close()));
}
