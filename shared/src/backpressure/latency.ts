import type { Redis } from 'ioredis';
import type { BackpressureSettings } from '../config/config.types.js';
import { aroundMethods } from '../util/around-methods.js';

/**
 * Store-call latency shared between processes (DESIGN §6 "Store adapters publish call-latency to
 * Redis"): every timed write pushes `<epoch ms>:<duration ms>` onto a capped list per store role, so the
 * back-pressure controller sees the writes of the graph and vector workers wherever they run (the
 * embedded process, or the graph/vector services of the distributed deployment).
 */
export type StoreRole = 'graph' | 'vector';

export const backpressureKeys = {
  /** Hash of the controller's signals, its pauses (`owned:<target>`) and the admission flag. */
  state: 'ingest:backpressure',
  leader: 'ingest:backpressure:leader',
  latency: (role: StoreRole) => `ingest:latency:${role}`,
};

/** Field of `ingest:backpressure` that is "1" while admission is stopped. */
export const ADMISSION_FIELD = 'admission_paused';

/** Tests only (`backpressure.injectLatency`): extra milliseconds added to each write of a store role. */
export const latencyFaults: Record<StoreRole, number> = { graph: 0, vector: 0 };

/**
 * Samples wait in memory at most this long (or a quarter of the controller's sampling interval, if that is
 * shorter), then go out in one LPUSH: a write no longer costs the store process a Redis round trip of its
 * own (2 graph and 2 vector writes per document, 4 commands each), and the controller, which samples every
 * few seconds, sees them a fraction of a sample late.
 */
export const LATENCY_FLUSH_MS = 100;

/**
 * Wraps a store so the named write methods publish their latency to Redis (fire and forget: a slow or
 * absent Redis never delays a store write). With `injectLatency` the test-controlled delay is added first.
 */
export function publishStoreLatency<T extends object>(target: T, role: StoreRole, ops: readonly (keyof T & string)[], redis: Redis, settings: BackpressureSettings): T {
  const key = backpressureKeys.latency(role);
  let pending: string[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    const samples = pending.slice(-settings.latencySamples);
    pending = [];
    redis.multi().lpush(key, ...samples).ltrim(key, 0, settings.latencySamples - 1).exec().catch(() => undefined);
  };
  return aroundMethods(target, ops, async (_op, call) => {
    const start = performance.now();
    try {
      if (settings.injectLatency && latencyFaults[role] > 0) await new Promise((r) => setTimeout(r, latencyFaults[role]));
      return await call();
    } finally {
      pending.push(`${Date.now()}:${(performance.now() - start).toFixed(1)}`);
      if (!timer) {
        timer = setTimeout(flush, Math.min(LATENCY_FLUSH_MS, settings.sampleIntervalMs / 4));
        timer.unref();
      }
    }
  });
}

/** p95 in ms of the samples of the last `windowMs`, and taken after `sinceMs` (0 when there are none). */
export async function recentP95(redis: Redis, role: StoreRole, windowMs: number, maxSamples: number, sinceMs = 0): Promise<number> {
  const raw = await redis.lrange(backpressureKeys.latency(role), 0, maxSamples - 1);
  const since = Math.max(Date.now() - windowMs, sinceMs + 1);
  const values: number[] = [];
  for (const entry of raw) {
    const [at, ms] = entry.split(':').map(Number);
    if (at !== undefined && ms !== undefined && at >= since && Number.isFinite(ms)) values.push(ms);
  }
  return percentile(values, 0.95);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** True while the back-pressure controller has stopped admission (Redis memory). */
export async function admissionStopped(redis: Redis): Promise<boolean> {
  return (await redis.hget(backpressureKeys.state, ADMISSION_FIELD)) === '1';
}

/** The watcher's gate: waits while admission is stopped (files stay in the spool meanwhile). */
export async function waitForAdmission(redis: Redis, pollMs: number, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted && await admissionStopped(redis)) await new Promise((r) => setTimeout(r, pollMs));
}
