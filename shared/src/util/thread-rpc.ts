/**
 * Method calls across a worker-thread boundary, for a port implementation that runs in a thread of its own
 * (ladybug-thread.ts). Arguments and results cross by structured clone; errors cross as their kind, code
 * and message and come back as the same PermanentError / RetryableError, so the stage-worker adapter maps
 * them exactly as it would have in one thread.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { ErrorCode, PermanentError, PipelineError, RetryableError } from '../errors/errors.js';

interface WireError {
  readonly kind: 'permanent' | 'retryable' | 'plain';
  readonly code?: string;
  readonly message: string;
}
interface Request {
  readonly id: number;
  readonly method: string;
  readonly args: unknown[];
}
type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: WireError };

export function toWireError(error: unknown): WireError {
  if (error instanceof PipelineError) return { kind: error.retryable ? 'retryable' : 'permanent', code: error.code, message: error.message };
  return { kind: 'plain', message: error instanceof Error ? error.message : String(error) };
}

export function fromWireError(wire: WireError): Error {
  if (wire.kind === 'permanent') return new PermanentError(wire.code ?? ErrorCode.Internal, wire.message);
  if (wire.kind === 'retryable') return new RetryableError(wire.code ?? ErrorCode.Internal, wire.message);
  return new Error(wire.message);
}

/** Worker side: answers every request on `port` by calling the method of that name on `target`. */
export function serveMethods(port: MessagePort, target: object): void {
  port.on('message', (request: Request) => {
    const method = (target as Record<string, unknown>)[request.method];
    const reply = (value: unknown): void => port.postMessage({ id: request.id, ok: true, value } satisfies Reply);
    const fail = (error: unknown): void => port.postMessage({ id: request.id, ok: false, error: toWireError(error) } satisfies Reply);
    if (typeof method !== 'function') {
      fail(new PermanentError(ErrorCode.Internal, `no method ${request.method} in the store thread`));
      return;
    }
    // A result that cannot be cloned fails its call (the catch), never the thread as an unhandled rejection.
    Promise.resolve()
      .then(() => (method as (...args: unknown[]) => unknown).apply(target, request.args))
      .then(reply, fail)
      .catch(fail);
  });
}

/**
 * Main-thread side. The worker holds the process open only while a call is outstanding (it is unref'd
 * when idle), like the parse pool's idle threads. When the thread dies, every outstanding and later call
 * fails with `onExit`'s error.
 */
export class ThreadClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: Error | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly onExit: (code: number, cause: string | undefined) => Error,
  ) {
    let cause: string | undefined;
    worker.unref();
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.on('error', (error) => { cause = error.message; }); // the 'exit' that follows fails the calls
    worker.on('exit', (code) => {
      this.exited = this.onExit(code, cause);
      for (const call of this.pending.values()) call.reject(this.exited);
      this.pending.clear();
    });
  }

  call<T>(method: string, args: unknown[]): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      try {
        this.worker.postMessage({ id, method, args } satisfies Request);
      } catch (error) {
        // Arguments that cannot be cloned (a function, a class instance's private state) are a bug of the caller.
        reject(new PermanentError(ErrorCode.PayloadInvalid, `${method}: arguments cannot cross to the store thread: ${(error as Error).message}`));
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  get alive(): boolean {
    return this.exited === null;
  }

  private settle(reply: Reply): void {
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) call.resolve(reply.value);
    else call.reject(fromWireError(reply.error));
  }
}
