/**
 * What every service's composition root (services/<name>/src/main.ts) shares in the distributed deployment
 * (DESIGN §3; issue 3 item 6): run until SIGTERM/SIGINT, then shut down gracefully — stop fetching, let
 * the active jobs finish within a drain budget (past it, close by force: the unfinished jobs' locks lapse
 * and another worker of the stage takes them as stalled), close the stores and Redis — and a liveness
 * check that makes the process exit when its worker stops consuming (for instance after a Redis outage),
 * so the orchestrator restarts it.
 *
 * Liveness is written as a heartbeat file (INGEST_HEARTBEAT_FILE, default /tmp/ingest-heartbeat) whose
 * mtime infra/healthcheck.mjs checks; no port is opened, so stage containers scale freely.
 */
import { rm, writeFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { describeError } from '../errors/errors.js';
import { quietOnConnectionErrors } from '../queue/redis.js';
import type { Runtime } from './runtime.js';

/** The part of a BullMQ Worker supervision uses. */
export interface SupervisedWorker {
  readonly name: string;
  run(): Promise<void>;
  isRunning(): boolean;
  close(force?: boolean): Promise<void>;
  on(event: 'active' | 'completed' | 'failed' | 'drained', listener: () => void): unknown;
}

export interface SupervisedService {
  /** Service name for logs (the stage name for stage workers). */
  readonly name: string;
  /** The stage worker, when the service is one; it is started here (`worker.run()`). */
  readonly worker?: SupervisedWorker;
  /** Stops the service's own work (worker, watchers, HTTP server); called once on shutdown. */
  readonly close: () => Promise<void>;
}

export interface SuperviseOptions {
  /** Budget for active jobs to finish after SIGTERM (INGEST_DRAIN_MS, default 30 s). */
  readonly drainMs?: number;
  /** Exit(1) after being unhealthy this long (INGEST_LIVENESS_MS, default 60 s). */
  readonly livenessMs?: number;
  /** Health is checked this often (default 5 s). */
  readonly checkEveryMs?: number;
  readonly heartbeatFile?: string;
  /** Tests: instead of process.exit. */
  readonly exit?: (code: number) => void;
  /** Tests: the signals to handle (default SIGTERM, SIGINT). */
  readonly signals?: readonly NodeJS.Signals[];
}

const numberFromEnv = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs `service` until a signal, keeping the heartbeat while healthy. Resolves when the process has shut
 * down (after `exit` was called).
 */
export function superviseService(rt: Runtime, service: SupervisedService, options: SuperviseOptions = {}): Promise<void> {
  const log = rt.logger.child({ service: service.name });
  const drainMs = options.drainMs ?? numberFromEnv('INGEST_DRAIN_MS', 30_000);
  const livenessMs = options.livenessMs ?? numberFromEnv('INGEST_LIVENESS_MS', 60_000);
  const checkEveryMs = options.checkEveryMs ?? 5000;
  const heartbeatFile = options.heartbeatFile ?? process.env.INGEST_HEARTBEAT_FILE ?? '/tmp/ingest-heartbeat';
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];

  // Consumption: the last time this worker took or finished a job, or found its queue empty.
  let lastProgress = Date.now();
  let active = 0;
  rt.metrics?.serveFromEnv().catch((error: unknown) => log.error('could not serve /metrics (INGEST_METRICS_PORT)', describeError(error)));
  const worker = service.worker;
  const queue = worker ? quietOnConnectionErrors(new Queue(worker.name, { connection: rt.redis, prefix: rt.config.queue.prefix })) : undefined;
  worker?.on('active', () => {
    active++;
    lastProgress = Date.now();
  });
  for (const event of ['completed', 'failed'] as const) {
    worker?.on(event, () => {
      active = Math.max(0, active - 1);
      lastProgress = Date.now();
    });
  }
  worker?.on('drained', () => {
    lastProgress = Date.now();
  });

  /** Healthy: Redis answers, the worker runs, and it is not sitting idle beside waiting jobs. */
  const healthy = async (): Promise<string | null> => {
    if ((await within(rt.redis.ping(), 2000)) !== 'PONG') return 'redis does not answer';
    if (!worker) return null;
    if (!worker.isRunning()) return 'the worker is not running';
    if (active === 0 && Date.now() - lastProgress > livenessMs) {
      const waiting = await within(queue!.getWaitingCount(), 2000);
      if (waiting === 'timeout') return 'redis does not answer';
      if (waiting > 0) return `${waiting} jobs wait but the worker has taken none for ${Math.round((Date.now() - lastProgress) / 1000)} s`;
      lastProgress = Date.now(); // idle because there is nothing to do
    }
    return null;
  };

  let lastHealthy = Date.now();
  let stopping = false;
  let checking = false;
  const beat = setInterval(() => {
    if (stopping || checking) return;
    checking = true;
    void healthy()
      .catch((error: unknown) => `health check failed: ${describeError(error).message}`)
      .then(async (problem) => {
        if (stopping) return;
        if (problem === null) {
          lastHealthy = Date.now();
          await writeFile(heartbeatFile, String(lastHealthy)).catch(() => undefined);
        } else if (Date.now() - lastHealthy > livenessMs) {
          log.error('unhealthy for too long; exiting so the orchestrator restarts this service', { problem });
          stopping = true;
          clearInterval(beat);
          exit(1);
        } else {
          log.warn('unhealthy', { problem });
        }
      })
      .finally(() => {
        checking = false;
      });
  }, checkEveryMs);
  beat.unref();
  void writeFile(heartbeatFile, String(Date.now())).catch(() => undefined);

  return new Promise<void>((resolve) => {
    const shutdown = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      clearInterval(beat);
      for (const s of signals) process.removeListener(s, onSignal);
      log.info('shutting down', { signal, drain_ms: drainMs });
      let code = signal === 'worker-error' ? 1 : 0;
      try {
        if ((await within(service.close(), drainMs)) === 'timeout') {
          log.warn('active jobs did not finish within the drain budget; closing by force (another worker takes them as stalled)');
          await worker?.close(true);
        }
      } catch (error) {
        log.error('error while stopping', describeError(error));
        code = 1;
      }
      await queue?.close().catch(() => undefined);
      await rt.close().catch((error: unknown) => {
        log.error('error while closing the runtime', describeError(error));
        code = 1;
      });
      await rm(heartbeatFile, { force: true }).catch(() => undefined);
      log.info('stopped', { code });
      exit(code);
      resolve();
    };
    const onSignal = (signal: NodeJS.Signals): void => void shutdown(signal);
    for (const s of signals) process.on(s, onSignal);
    if (worker) {
      worker.run().catch((error: unknown) => {
        log.error('the worker stopped with an error', describeError(error));
        void shutdown('worker-error').then(() => undefined);
      });
    }
  });
}
