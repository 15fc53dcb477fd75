import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PreparedBody, RenderedPiece } from './parse-markdown.js';
import type { ParseTask, SerialisedError } from './parse-worker.js';
import { ErrorCode, PermanentError, RetryableError } from './shared.js';
import { letThreadSizeItsNursery } from './thread-nursery.js';
import { PARSE_DEFAULTS, type ParseJobOptions, type ParseOptions, type ParsedDocument, type ParsePoolOptions, type SerialisedParse } from './types.js';

export type { ParseJobOptions, ParsePoolOptions } from './types.js';

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
 *  - A big document (over `SPLIT_SEGMENTS` segments) is parsed in phases when the pool has two threads or
 *    more and `splitBigDocuments` is on: one thread prepares the body and finds the segment cuts, two threads parse the two halves of
 *    the segments at once, one assembles the sections. Micromark is most of a big parse, so a 3 MB
 *    document parses in a little over half the time. The job's time limit covers all phases together.
 *  - `warmThreads` threads start eagerly and stay; threads above them start while jobs wait and stop
 *    after `idleMs` without work. Idle threads are unref'd, so an idle pool never keeps the process
 *    alive. Three consecutive start-up failures stop respawning and reject waiting jobs.
 */
export const PARSE_POOL_DEFAULTS = { size: 2, timeoutMs: 10_000, maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 48 } as const;

const WORKER_URL = new URL(
  fileURLToPath(import.meta.url).endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js',
  import.meta.url,
);
const MAX_STARTUP_FAILURES = 3;

/** Segments (of `segmentBytes`) above which a document's segments are parsed by two threads at once. */
const SPLIT_SEGMENTS = 8;

interface Job {
  readonly id: number;
  readonly task: ParseTask;
  /** This task's time limit. */
  readonly timeoutMs: number;
  /** The whole job's time limit (what a PARSE_TIMEOUT message names). */
  readonly limitMs: number;
  readonly resolve: (value: unknown) => void;
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
  /** Stops a thread above warmThreads that has had no work for idleMs. */
  idleTimer: NodeJS.Timeout | null;
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: SerialisedError };

export class ParsePool {
  readonly size: number;
  readonly timeoutMs: number;
  readonly maxOldGenerationSizeMb: number;
  readonly maxYoungGenerationSizeMb: number;
  readonly warmThreads: number;
  readonly idleMs: number;
  readonly splitBigDocuments: boolean;
  private readonly slots = new Set<Slot>();
  private queue: Job[] = [];
  private closed = false;
  private nextId = 1;
  private startupFailures = 0;
  private readyWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Threads started over the pool's life (replacements included); for tests and metrics. */
  spawned = 0;
  /** Big documents parsed in two halves at once, and those of them rendered in one range after all. */
  readonly splits = { halves: 0, oneRange: 0 };

  constructor(options: ParsePoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? PARSE_POOL_DEFAULTS.size));
    this.timeoutMs = options.timeoutMs ?? PARSE_POOL_DEFAULTS.timeoutMs;
    this.maxOldGenerationSizeMb = options.maxOldGenerationSizeMb ?? PARSE_POOL_DEFAULTS.maxOldGenerationSizeMb;
    this.maxYoungGenerationSizeMb = options.maxYoungGenerationSizeMb ?? PARSE_POOL_DEFAULTS.maxYoungGenerationSizeMb;
    this.warmThreads = Math.min(this.size, Math.max(1, Math.floor(options.warmThreads ?? this.size)));
    this.idleMs = options.idleMs ?? 10_000;
    this.splitBigDocuments = options.splitBigDocuments ?? true;
    this.fill();
  }

  /** Threads running now (starting ones included). */
  get threads(): number {
    return this.slots.size;
  }

  /** Resolves once every warm thread has loaded the parser (optional: parse() waits for a warm thread anyway). */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('parse pool is closed'));
    if (this.allReady()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      this.updateRefs();
    });
  }

  parse(text: string, opts: ParseOptions, jobOptions: ParseJobOptions = {}): Promise<ParsedDocument> {
    return this.parseAny(text, opts, jobOptions, false) as Promise<ParsedDocument>;
  }

  /**
   * Like parse(), but a document with sections comes back as the parse stage's artifact JSON, written by
   * the thread and transferred (SerialisedParse). For a 3 MB document (9,213 sections) this spares the
   * stage process the structured-clone copy of the sections, the JSON string and its Buffer.
   */
  parseSerialised(text: string, opts: ParseOptions, jobOptions: ParseJobOptions = {}): Promise<ParsedDocument | SerialisedParse> {
    return this.parseAny(text, opts, jobOptions, true);
  }

  private parseAny(text: string, opts: ParseOptions, jobOptions: ParseJobOptions, serialise: boolean): Promise<ParsedDocument | SerialisedParse> {
    const segmentBytes = opts.segmentBytes ?? PARSE_DEFAULTS.segmentBytes;
    if (this.size >= 2 && this.splitBigDocuments && text.length > SPLIT_SEGMENTS * segmentBytes) return this.parseInHalves(text, opts, jobOptions, serialise);
    return this.run({ op: 'parse', text, opts, serialise }, jobOptions);
  }

  /**
   * prepare → render both halves at once → assemble. When the first half's last piece ends inside an open
   * fence (a wrong cut at the seam), the halves would not join as one parse would, so that document is
   * rendered in one range instead.
   */
  private async parseInHalves(text: string, opts: ParseOptions, jobOptions: ParseJobOptions, serialise: boolean): Promise<ParsedDocument | SerialisedParse> {
    const deadline = performance.now() + (jobOptions.timeoutMs ?? this.timeoutMs);
    const within = (): ParseJobOptions & { limitMs: number } => {
      const left = Math.floor(deadline - performance.now());
      if (left <= 0) throw new PermanentError(ErrorCode.ParseTimeout, `parse exceeded ${jobOptions.timeoutMs ?? this.timeoutMs} ms`);
      return { ...jobOptions, timeoutMs: left, limitMs: jobOptions.timeoutMs ?? this.timeoutMs };
    };
    const prepared = await this.run<PreparedBody>({ op: 'prepare', text, opts }, within());
    const { body, cuts } = prepared;
    const maxDepth = opts.maxDepth ?? PARSE_DEFAULTS.maxDepth;
    const render = (bounds: number[]) => {
      const from = bounds[0]!;
      return this.run<{ pieces: RenderedPiece[]; tailOpen: boolean }>(
        { op: 'render', body: body.slice(from, bounds.at(-1)), bounds: bounds.map((b) => b - from), maxDepth }, within(),
      ).then((r) => ({ ...r, pieces: r.pieces.map((p) => ({ ...p, start: p.start + from, end: p.end + from })) }));
    };
    const bounds = [0, ...cuts, body.length];
    let pieces: RenderedPiece[];
    if (cuts.length < 2) {
      pieces = (await render(bounds)).pieces;
    } else {
      const seam = Math.ceil(bounds.length / 2) - 1;
      const [first, second] = await Promise.all([render(bounds.slice(0, seam + 1)), render(bounds.slice(seam))]);
      this.splits.halves++;
      if (first.tailOpen) this.splits.oneRange++;
      pieces = first.tailOpen ? (await render(bounds)).pieces : [...first.pieces, ...second.pieces];
    }
    return this.run({ op: 'assemble', prepared, pieces, opts, serialise }, within());
  }

  /** Runs one task on a warm thread, with the job's time limit and abort signal. */
  private run<T>(task: ParseTask, jobOptions: ParseJobOptions & { limitMs?: number }): Promise<T> {
    if (this.closed) return Promise.reject(new Error('parse pool is closed'));
    const { signal } = jobOptions;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        id: this.nextId++,
        task,
        timeoutMs: jobOptions.timeoutMs ?? this.timeoutMs,
        limitMs: jobOptions.limitMs ?? jobOptions.timeoutMs ?? this.timeoutMs,
        resolve: resolve as (value: unknown) => void,
        reject,
        signal,
        onAbort: null,
      };
      if (signal) {
        job.onAbort = () => this.abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      if (this.slots.size < this.warmThreads) {
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
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      this.slots.delete(slot);
      terminations.push(slot.worker.terminate());
    }
    await Promise.allSettled(terminations);
  }

  private allReady(): boolean {
    return this.slots.size >= this.warmThreads && [...this.slots].every((s) => s.ready);
  }

  private fill(): void {
    while (!this.closed && this.slots.size < this.warmThreads) this.spawn();
  }

  /** Starts threads above warmThreads (up to size) for jobs that no idle or starting thread will take. */
  private grow(): void {
    let starting = [...this.slots].filter((s) => !s.ready).length;
    while (!this.closed && this.slots.size < this.size && this.queue.length > starting) {
      this.spawn();
      starting++;
    }
  }

  private spawn(): void {
    letThreadSizeItsNursery();
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.maxOldGenerationSizeMb, maxYoungGenerationSizeMb: this.maxYoungGenerationSizeMb },
    });
    this.spawned++;
    const slot: Slot = { worker, ready: false, dead: false, job: null, timer: null, idleTimer: null };
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
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
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
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      slot.idleTimer = null;
      slot.timer = setTimeout(() => this.onTimeout(slot, job), job.timeoutMs);
      slot.worker.postMessage({ type: 'task', id: job.id, task: job.task });
    }
    this.grow();
    if (this.slots.size > this.warmThreads) for (const slot of this.slots) this.scheduleIdleStop(slot);
    this.updateRefs();
  }

  private scheduleIdleStop(slot: Slot): void {
    if (!slot.ready || slot.dead || slot.job || slot.idleTimer) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = null;
      if (!slot.job && !slot.dead && this.slots.size > this.warmThreads) this.kill(slot);
    }, this.idleMs);
    slot.idleTimer.unref();
  }

  private onTimeout(slot: Slot, job: Job): void {
    if (slot.job !== job) return;
    this.kill(slot);
    this.settle(job, new PermanentError(ErrorCode.ParseTimeout, `parse exceeded ${job.limitMs} ms`));
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
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.timer = null;
    this.slots.delete(slot);
    void slot.worker.terminate();
  }

  private settle(job: Job, error: unknown, value?: unknown): void {
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
