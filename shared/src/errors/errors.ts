/**
 * Error taxonomy (DESIGN §6). A PermanentError ends its job at once (the worker adapter turns it into
 * BullMQ's UnrecoverableError); a RetryableError, or any other error, is retried with backoff.
 * Every error carries a machine-readable reason code operators and tests can match on.
 */
export const ErrorCode = {
  TooLarge: 'TOO_LARGE',
  NotText: 'NOT_TEXT',
  InvalidEncoding: 'INVALID_ENCODING',
  TooDeep: 'TOO_DEEP',
  TooManySections: 'TOO_MANY_SECTIONS',
  ParseTimeout: 'PARSE_TIMEOUT',
  BadFrontMatter: 'BAD_FRONT_MATTER',
  BadEmbedding: 'BAD_EMBEDDING',
  MissingUpstream: 'MISSING_UPSTREAM',
  MissingArtifact: 'MISSING_ARTIFACT',
  Superseded: 'SUPERSEDED',
  Cancelled: 'CANCELLED',
  CrashLoop: 'CRASH_LOOP',
  PayloadInvalid: 'PAYLOAD_INVALID',
  StoreUnavailable: 'STORE_UNAVAILABLE',
  StoreWriteFailed: 'STORE_WRITE_FAILED',
  EmbedderUnavailable: 'EMBEDDER_UNAVAILABLE',
  /** The embedder answered 2xx with a body that is not JSON (truncated, a proxy's HTML page). */
  EmbedderBadResponse: 'EMBEDDER_BAD_RESPONSE',
  RateLimited: 'RATE_LIMITED',
  BadRequest: 'BAD_REQUEST',
  NotFound: 'NOT_FOUND',
  Unauthorized: 'UNAUTHORIZED',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export abstract class PipelineError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    readonly code: ErrorCode | string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Bad input or a broken invariant: retrying cannot help. */
export class PermanentError extends PipelineError {
  readonly retryable = false;
}

/** A dependency was unavailable or slow: retry with backoff. */
export class RetryableError extends PipelineError {
  readonly retryable = true;
}

/**
 * A dependency asked us to slow down (HTTP 429 with Retry-After). Retryable, but the worker adapter should
 * not spend an attempt on it: it rate-limits the stage queue for `retryAfterMs` instead (BullMQ
 * `worker.rateLimit(ms)` + `Worker.RateLimitError()`, DESIGN §5 embed / §6).
 */
export class RateLimitedError extends RetryableError {
  constructor(
    readonly retryAfterMs: number,
    message: string,
    options?: { cause?: unknown; code?: ErrorCode | string },
  ) {
    super(options?.code ?? ErrorCode.RateLimited, message, options);
  }
}

/** `{code, message}` for any thrown value; the shape of `error` in job state and CLI JSON. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof PipelineError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const coded = /^([A-Z][A-Z_]{2,}): (.*)$/s.exec(error.message);
    if (coded) return { code: coded[1]!, message: coded[2]! };
    return { code: ErrorCode.Internal, message: error.message };
  }
  return { code: ErrorCode.Internal, message: String(error) };
}
