/**
 * OpenAI-compatible embedder (DESIGN §3: OpenAI, Ollama, vLLM, TEI, LM Studio all speak it):
 * `POST {url}/embeddings` with `{model, input: string[], encoding_format: 'float'}`, answered by
 * `{data: [{index, embedding}]}`.
 *
 * - Texts go out in batches of `batchSize`, one request at a time; answers are put back in input order by
 *   their `index`.
 * - Every request has a timeout; the caller's AbortSignal aborts the request in flight and any backoff
 *   wait, and the call rejects with the signal's reason.
 * - 429 → RateLimitedError carrying the server's Retry-After (seconds or an HTTP date; `retry-after-ms`
 *   wins when present), so the worker adapter can rate-limit the queue instead of burning an attempt.
 *   Until that time has passed this embedder sends nothing: every call (other jobs already active in this
 *   process, retries of a 5xx) fails at once with a RateLimitedError for the time left, instead of spending
 *   a request the server will refuse (refused requests count against the limit too). With a shared
 *   PauseGate (Redis, set by openRuntime) the pause holds for every process calling the same embedder: the
 *   embed stage and the verify/query side share one provider limit.
 * - 5xx, 408, timeouts and network errors are retried here with exponential backoff and jitter
 *   (`maxRetries` times), then surface as RetryableError(EMBEDDER_UNAVAILABLE): the job retries later.
 * - A 2xx whose body is not JSON (truncated, an HTML page from a proxy) is retried the same way and ends as
 *   RetryableError(EMBEDDER_BAD_RESPONSE): a cut answer is what a reset connection or a proxy's buffer limit
 *   produces, and it usually heals; one that never does fails its document after the job's attempts.
 * - Other 4xx (bad request, unknown model, bad key) → PermanentError: retrying cannot help.
 * - A vector of the wrong size, a non-finite value (`NaN` is not even JSON), a missing index or the wrong
 *   number of vectors → PermanentError(BAD_EMBEDDING).
 *
 * The API key goes only into the Authorization header; it is never part of a message, a log line or an
 * error. `version` = `<model>-<dimensions>` is the embedding_version stamped on every point.
 */
import { ErrorCode, PermanentError, RateLimitedError, RetryableError } from '../../errors/errors.js';
import type { Embedder } from '../../ports/embedder.js';

export interface HttpEmbedderOptions {
  /** Base URL, e.g. `https://api.openai.com/v1` or `http://ollama:11434/v1`; `/embeddings` is appended. */
  readonly url: string;
  readonly model: string;
  /** Size of every vector the model returns; a vector of another size is a permanent failure. */
  readonly dimensions: number;
  readonly apiKey?: string;
  /** Texts per request; default 128. */
  readonly batchSize?: number;
  /** Per request, default 30 s. */
  readonly timeoutMs?: number;
  /** Retries of a 5xx / timeout / network failure inside one call; default 3. */
  readonly maxRetries?: number;
  /** First backoff; doubles per retry, with full jitter; default 500 ms. */
  readonly backoffMs?: number;
  /** Ceiling of one backoff wait; default 10 s. */
  readonly maxBackoffMs?: number;
  /** Send `dimensions` in the request (OpenAI text-embedding-3 models shorten vectors); default false. */
  readonly requestDimensions?: boolean;
  /** Delay assumed when a 429 carries no usable Retry-After; default 1 s. */
  readonly defaultRetryAfterMs?: number;
}

const MAX_SNIPPET = 200;
/** Bounds a Retry-After a server may send (a misbehaving one must not park a queue for days). */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Milliseconds from a Retry-After header (delta-seconds or HTTP-date), `retry-after-ms` first. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.min(MAX_RETRY_AFTER_MS, Math.ceil(Number(ms)));
  const value = headers.get('retry-after');
  if (value === null) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.min(MAX_RETRY_AFTER_MS, Math.ceil(Number(value) * 1000));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now));
}

/** Strips anything that looks like a credential from a server's error text before it becomes a message. */
function snippet(text: string, apiKey: string | undefined): string {
  let s = text.replace(/\s+/g, ' ').trim();
  if (apiKey) s = s.split(apiKey).join('[redacted]');
  s = s.replace(/(bearer\s+)\S+/gi, '$1[redacted]');
  return s.length > MAX_SNIPPET ? `${s.slice(0, MAX_SNIPPET)}…` : s;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A pause after a 429 shared by every process that calls the embedder (one provider limit for all). */
export interface PauseGate {
  /** Milliseconds left of the current pause; 0 when none. */
  remaining(): Promise<number>;
  /** Pauses for `ms` from now, unless a longer pause is already set. */
  pause(ms: number): Promise<void>;
  /** Takes a slot of the configured request rate (all processes together): 0 = go, else ms until the next slot. */
  acquire?(): Promise<number>;
}

/** Waiting longer than this for a rate slot hands the job back to the queue (rate-limited) instead. */
const MAX_SLOT_WAIT_MS = 2000;

/** A failure worth retrying inside the call (5xx, 408, timeout, network, an answer that is not JSON). */
class Transient extends Error {
  constructor(message: string, readonly code: string = ErrorCode.EmbedderUnavailable) {
    super(message);
  }
}

export class HttpEmbedder implements Embedder {
  readonly version: string;
  readonly dimensions: number;
  private readonly endpoint: string;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly defaultRetryAfterMs: number;
  private readonly closing = new AbortController();
  /** Epoch ms before which the server asked not to be called (its last 429's Retry-After). */
  private pausedUntil = 0;
  private gate: PauseGate | undefined;

  constructor(private readonly options: HttpEmbedderOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new PermanentError(ErrorCode.BadRequest, 'EMBEDDER_URL is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new PermanentError(ErrorCode.BadRequest, 'EMBEDDER_URL must be http(s)');
    }
    if (url.username || url.password) {
      throw new PermanentError(ErrorCode.BadRequest, 'EMBEDDER_URL must not carry credentials; use EMBEDDER_API_KEY');
    }
    if (!options.model) throw new PermanentError(ErrorCode.BadRequest, 'the HTTP embedder needs a model (EMBEDDER_MODEL)');
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1) {
      throw new PermanentError(ErrorCode.BadRequest, `embedder dimensions must be a positive integer, got ${options.dimensions}`);
    }
    this.endpoint = `${url.href.replace(/\/+$/, '')}/embeddings`;
    this.dimensions = options.dimensions;
    this.version = `${options.model}-${options.dimensions}`;
    this.batchSize = Math.max(1, options.batchSize ?? 128);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = Math.max(0, options.maxRetries ?? 3);
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.defaultRetryAfterMs = options.defaultRetryAfterMs ?? 1000;
  }

  /** Shares the 429 pause with other processes (openRuntime passes a Redis gate). */
  sharePauses(gate: PauseGate): void {
    this.gate = gate;
  }

  /** Ms left of a pause this process or (through the gate) another one was asked for; a gate error counts as none. */
  private async pauseLeft(): Promise<number> {
    const local = this.pausedUntil - Date.now();
    if (local > 0 || !this.gate) return Math.max(0, local);
    return this.gate.remaining().catch(() => 0);
  }

  private async throwIfPaused(): Promise<void> {
    const wait = await this.pauseLeft();
    if (wait > 0) throw new RateLimitedError(wait, `embedder ${this.options.model} asked for a pause (429); ${wait} ms left`);
  }

  /** A slot of the shared request rate (embedder.maxRequestsPerSecond); without a gate or on a gate error, go. */
  private async slot(): Promise<number> {
    return this.gate?.acquire ? this.gate.acquire().catch(() => 0) : 0;
  }

  async embed(texts: readonly string[], options: { signal?: AbortSignal } = {}): Promise<number[][]> {
    const signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    signal.throwIfAborted();
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const batch = texts.slice(i, i + this.batchSize).map((t) => (typeof t === 'string' ? t : ''));
      out.push(...(await this.embedBatch(batch, signal)));
    }
    return out;
  }

  /** One batch, with retries of transient failures. */
  private async embedBatch(input: string[], signal: AbortSignal): Promise<number[][]> {
    let lastProblem = new Transient('');
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      try {
        return await this.request(input, signal);
      } catch (error) {
        if (!(error instanceof Transient)) throw error;
        lastProblem = error;
        if (attempt >= this.maxRetries) break;
        const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), signal);
      }
    }
    throw new RetryableError(
      lastProblem.code,
      `embedder ${this.options.model}: ${lastProblem.message} (after ${this.maxRetries + 1} attempts)`,
    );
  }

  private async request(input: string[], signal: AbortSignal): Promise<number[][]> {
    await this.throwIfPaused();
    for (let slot = await this.slot(); slot > 0; slot = await this.slot()) {
      if (slot > MAX_SLOT_WAIT_MS) throw new RateLimitedError(slot, `embedder ${this.options.model}: next request slot in ${slot} ms`);
      await sleep(slot, signal);
    }
    await this.throwIfPaused(); // a 429 may have arrived while this request waited for its slot
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const body = JSON.stringify({
      model: this.options.model,
      input,
      encoding_format: 'float',
      ...(this.options.requestDimensions ? { dimensions: this.dimensions } : {}),
    });
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.endpoint, { method: 'POST', headers, body, signal: AbortSignal.any([signal, timeout]) });
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timeout.aborted) throw new Transient(`no answer within ${this.timeoutMs} ms`);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Transient(`request failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }

    if (response.status === 429) {
      const ms = retryAfterMs(response.headers) ?? this.defaultRetryAfterMs;
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
      await this.gate?.pause(ms).catch(() => undefined);
      throw new RateLimitedError(ms, `embedder ${this.options.model} is rate-limited (429); retry after ${ms} ms`);
    }
    if (response.status >= 500 || response.status === 408) {
      throw new Transient(`HTTP ${response.status}: ${snippet(text, this.options.apiKey)}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new PermanentError(ErrorCode.Unauthorized, `embedder refused the credentials (HTTP ${response.status}); check EMBEDDER_API_KEY`);
    }
    if (response.status < 200 || response.status >= 300) {
      throw new PermanentError(ErrorCode.BadRequest, `embedder answered HTTP ${response.status}: ${snippet(text, this.options.apiKey)}`);
    }
    return this.parse(text, input.length);
  }

  /** Validates the answer: one finite vector of `dimensions` numbers per input, in `index` order. */
  private parse(text: string, expected: number): number[][] {
    const bad = (message: string): PermanentError =>
      new PermanentError(ErrorCode.BadEmbedding, `embedder ${this.options.model}: ${message}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // NaN and Infinity are not JSON; a server that prints them produced a broken vector, not a broken reply.
      if (/[[,:]\s*-?(NaN|Infinity)\b/.test(text)) throw bad('a vector contains NaN or Infinity');
      throw new Transient(`the answer is not JSON: ${snippet(text, this.options.apiKey)}`, ErrorCode.EmbedderBadResponse);
    }
    const data = (json as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) throw bad('the answer has no data array');
    if (data.length !== expected) throw bad(`${data.length} vectors for ${expected} texts`);
    const out = new Array<number[] | undefined>(expected);
    data.forEach((item: unknown, n) => {
      const entry = item as { index?: unknown; embedding?: unknown } | null;
      const index = entry?.index === undefined ? n : entry.index;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= expected || out[index]) {
        throw bad(`data[${n}] has a missing, duplicate or out-of-range index`);
      }
      const vector = entry?.embedding;
      if (!Array.isArray(vector)) throw bad(`data[${n}].embedding is not an array (base64 answers are not supported)`);
      if (vector.length !== this.dimensions) {
        throw bad(`a vector has ${vector.length} dimensions, ${this.dimensions} were configured`);
      }
      for (let d = 0; d < vector.length; d++) {
        const x: unknown = vector[d];
        if (typeof x !== 'number' || !Number.isFinite(x)) throw bad(`a vector has a non-finite value at [${d}]: ${String(x)}`);
      }
      if (!vector.some((x) => x !== 0)) throw bad('a vector is all zeros');
      out[index] = vector as number[];
    });
    return out as number[][];
  }

  /** Aborts requests in flight; later calls reject. */
  async close(): Promise<void> {
    this.closing.abort(new RetryableError(ErrorCode.EmbedderUnavailable, 'the embedder is closed'));
  }
}
