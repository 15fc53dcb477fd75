import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  ADMISSION_FIELD, backpressureKeys, bullmqQueueReader, describeError, quietOnConnectionErrors, recentP95,
  type BackpressureSettings, type GraphStore, type IngestMetrics, type Logger, type Runtime,
} from '@ingest/shared';

/**
 * The back-pressure controller of DESIGN §6. Every instance (the embedded process, the dashboard
 * service) runs one; a Redis lock (SET NX PX, renewed each sample) makes one of them the leader. The
 * leader samples the signals, writes them to `ingest:backpressure`, and pauses the graph or vector queue
 * (or stops admission) after `badSamples` consecutive bad samples, resuming after `goodSamples` good ones.
 *
 * Ownership: a pause the controller made is recorded in the hash as `owned:<target>`. It only ever
 * resumes a queue recorded there — a queue paused by an operator (Bull Board, `ingestctl queues pause`)
 * is not in the hash and stays paused. Ownership lives in Redis, not in the leader, so a new leader
 * resumes a dead leader's pauses once signals are good. If an operator resumes a controller-owned
 * pause, the controller drops its ownership.
 *
 * Store latency comes from Redis (the store wrappers of openRuntime publish every write's latency to
 * `ingest:latency:<graph|vector>`), so the controller sees the writes of whichever process does them.
 */

export interface Signals {
  /** Graph store load, 0..1+: Neo4j active transactions ÷ capacity, or graph write p95 ÷ budget. */
  readonly graphLoad: number;
  readonly vectorP95Ms: number;
  /** used_memory ÷ maxmemory; 0 when maxmemory is 0. */
  readonly redisMemoryRatio: number;
  readonly queueAgesSeconds: Readonly<Record<string, number>>;
}

/** Per store role, when the controller's own pause of its queue began (epoch ms). */
export type PausedSince = Partial<Record<'graph' | 'vector', number>>;

export interface SignalSource {
  /**
   * Store latency counts only samples taken since the role's queue was paused by the controller: the
   * samples that caused a pause are not news, and a paused queue writes nothing new, so a window still
   * holding them kept the queue paused until they aged out (~100 s of a bulk run stood still).
   */
  sample(pausedSince?: PausedSince): Promise<Signals>;
  close?(): Promise<void>;
}

export const BACKPRESSURE_TARGETS = ['graph', 'vector', 'admission'] as const;
export type BackpressureTarget = (typeof BACKPRESSURE_TARGETS)[number];

/** A graph store that can report active transactions (Neo4j). */
interface TransactionCounting { activeTransactions(): Promise<number> }
const countsTransactions = (g: unknown): g is TransactionCounting => typeof (g as Partial<TransactionCounting>)?.activeTransactions === 'function';

const parseRedisInfo = (info: string, field: string): number => {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
};

/** The real signals: store latency published to Redis, Redis INFO memory, BullMQ queue ages. */
export function redisSignalSource(redis: Redis, prefix: string, settings: BackpressureSettings, graph?: GraphStore): SignalSource {
  const reader = bullmqQueueReader(redis, prefix);
  return {
    async sample(pausedSince = {}) {
      const [graphLoad, vectorP95Ms, info, queues] = await Promise.all([
        countsTransactions(graph)
          ? graph.activeTransactions().then((n) => n / settings.neo4jCapacity)
          : recentP95(redis, 'graph', settings.latencyWindowMs, settings.latencySamples, pausedSince.graph).then((p95) => p95 / settings.graphWriteP95BudgetMs),
        recentP95(redis, 'vector', settings.latencyWindowMs, settings.latencySamples, pausedSince.vector),
        redis.info('memory'),
        reader.read(),
      ]);
      const max = parseRedisInfo(info, 'maxmemory');
      return {
        graphLoad, vectorP95Ms,
        redisMemoryRatio: max > 0 ? parseRedisInfo(info, 'used_memory') / max : 0,
        queueAgesSeconds: Object.fromEntries(queues.map((q) => [q.queue, q.oldestWaitingAgeSeconds])),
      };
    },
    close: () => reader.close(),
  };
}

export interface BackpressureOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly settings: BackpressureSettings;
  readonly logger: Logger;
  readonly metrics?: IngestMetrics;
  /** Defaults to redisSignalSource; tests inject their own. */
  readonly signals?: SignalSource;
  readonly id?: string;
}

interface Streak { bad: number; good: number }

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class BackpressureController {
  readonly id: string;
  private readonly queues: Record<'graph' | 'vector', Queue>;
  private readonly signals: SignalSource;
  private readonly streaks: Record<BackpressureTarget, Streak> = { graph: { bad: 0, good: 0 }, vector: { bad: 0, good: 0 }, admission: { bad: 0, good: 0 } };
  private leader = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(private readonly o: BackpressureOptions) {
    this.id = o.id ?? `bp-${randomUUID()}`;
    this.queues = { graph: quietOnConnectionErrors(new Queue('graph', { connection: o.redis, prefix: o.prefix })), vector: quietOnConnectionErrors(new Queue('vector', { connection: o.redis, prefix: o.prefix })) };
    this.signals = o.signals ?? redisSignalSource(o.redis, o.prefix, o.settings);
  }

  get isLeader(): boolean { return this.leader; }

  /** Sets the global concurrency caps (they hold across --scale) and starts sampling. */
  async start(): Promise<this> {
    const caps = this.o.settings.globalConcurrency;
    await Promise.all([this.queues.graph.setGlobalConcurrency(caps.graph), this.queues.vector.setGlobalConcurrency(caps.vector)]);
    const tick = () => {
      this.inFlight = this.tick()
        .catch((error: unknown) => { this.o.logger.warn('back-pressure sample failed', describeError(error)); })
        .finally(() => { if (!this.stopped) this.timer = setTimeout(tick, this.o.settings.sampleIntervalMs).unref(); });
    };
    tick();
    return this;
  }

  /** One sampling round: leadership, then (leader only) signals and decisions; followers mirror metrics. */
  async tick(): Promise<void> {
    await this.elect();
    if (!this.leader) return this.mirrorMetrics();
    const s = await this.signals.sample(await this.ownPausesSince());
    const set = this.o.settings;
    const now = Date.now();
    await this.o.redis.hset(backpressureKeys.state, {
      leader: this.id, sampled_at: String(now),
      graph_load: s.graphLoad.toFixed(4), vector_p95_ms: s.vectorP95Ms.toFixed(1), redis_memory_ratio: s.redisMemoryRatio.toFixed(4),
      ...Object.fromEntries(Object.entries(s.queueAgesSeconds).map(([q, age]) => [`queue_age_seconds:${q}`, age.toFixed(1)])),
    });
    this.o.metrics?.neo4jCpu.set(s.graphLoad);
    this.o.metrics?.qdrantP95Ms.set(s.vectorP95Ms);
    await this.decideQueue('graph', s.graphLoad > set.graphLoadMax);
    await this.decideQueue('vector', s.vectorP95Ms > set.vectorP95MaxMs);
    await this.decideAdmission(s.redisMemoryRatio > set.redisMemoryMax);
    await this.mirrorMetrics();
  }

  /** When the pauses this controller owns began (from `owned:<queue>` in the hash). */
  private async ownPausesSince(): Promise<PausedSince> {
    const [graph, vector] = await this.o.redis.hmget(backpressureKeys.state, 'owned:graph', 'owned:vector');
    const at = (owned: string | null | undefined): number | undefined => {
      try {
        const value = owned ? (JSON.parse(owned) as { at?: unknown }).at : undefined;
        return typeof value === 'number' ? value : undefined;
      } catch {
        return undefined;
      }
    };
    const since: PausedSince = {};
    const g = at(graph);
    const v = at(vector);
    if (g !== undefined) since.graph = g;
    if (v !== undefined) since.vector = v;
    return since;
  }

  private async elect(): Promise<void> {
    const { redis, settings } = this.o;
    if (this.leader) {
      this.leader = (await redis.eval(RENEW, 1, backpressureKeys.leader, this.id, String(settings.leaderTtlMs))) === 1;
      if (!this.leader) this.o.logger.warn('back-pressure leadership lost', { id: this.id });
    } else {
      this.leader = (await redis.set(backpressureKeys.leader, this.id, 'PX', settings.leaderTtlMs, 'NX')) === 'OK';
      if (this.leader) {
        this.o.logger.info('back-pressure leader', { id: this.id });
        for (const t of BACKPRESSURE_TARGETS) this.streaks[t] = { bad: 0, good: 0 };
      }
    }
  }

  private count(target: BackpressureTarget, bad: boolean): Streak {
    const st = this.streaks[target];
    if (bad) { st.bad += 1; st.good = 0; } else { st.good += 1; st.bad = 0; }
    return st;
  }

  private async decideQueue(target: 'graph' | 'vector', bad: boolean): Promise<void> {
    const st = this.count(target, bad);
    const queue = this.queues[target];
    const field = `owned:${target}`;
    const [paused, owned] = await Promise.all([queue.isPaused(), this.o.redis.hexists(backpressureKeys.state, field).then((n) => n === 1)]);
    if (owned && !paused) {
      // An operator resumed the controller's pause: theirs to decide now.
      await this.o.redis.hdel(backpressureKeys.state, field);
      this.o.logger.info('back-pressure pause lifted by an operator', { queue: target });
      return;
    }
    if (bad && st.bad >= this.o.settings.badSamples && !paused) {
      await this.o.redis.hset(backpressureKeys.state, field, JSON.stringify({ by: this.id, at: Date.now() }));
      this.o.metrics?.backpressurePaused.set({ queue: target }, 1);
      await queue.pause();
      this.o.logger.warn('back-pressure: queue paused', { queue: target });
    } else if (!bad && owned && paused && st.good >= this.o.settings.goodSamples) {
      await queue.resume();
      await this.o.redis.hdel(backpressureKeys.state, field);
      this.o.metrics?.backpressurePaused.set({ queue: target }, 0);
      this.o.logger.info('back-pressure: queue resumed', { queue: target });
    }
  }

  private async decideAdmission(bad: boolean): Promise<void> {
    const st = this.count('admission', bad);
    const stopped = (await this.o.redis.hget(backpressureKeys.state, ADMISSION_FIELD)) === '1';
    if (bad && !stopped && st.bad >= this.o.settings.badSamples) {
      await this.o.redis.hset(backpressureKeys.state, ADMISSION_FIELD, '1', 'owned:admission', JSON.stringify({ by: this.id, at: Date.now() }));
      this.o.logger.warn('back-pressure: admission stopped (Redis memory)');
    } else if (!bad && stopped && st.good >= this.o.settings.goodSamples) {
      await this.o.redis.hdel(backpressureKeys.state, ADMISSION_FIELD, 'owned:admission');
      this.o.logger.info('back-pressure: admission resumed');
    }
  }

  /** ingest_backpressure_paused{queue} from the hash (so every instance exports the same view). */
  private async mirrorMetrics(): Promise<void> {
    const m = this.o.metrics;
    if (!m) return;
    const h = await this.o.redis.hgetall(backpressureKeys.state);
    for (const t of BACKPRESSURE_TARGETS) m.backpressurePaused.set({ queue: t }, h[`owned:${t}`] ? 1 : 0);
    if (!this.leader) {
      if (h.graph_load) m.neo4jCpu.set(Number(h.graph_load));
      if (h.vector_p95_ms) m.qdrantP95Ms.set(Number(h.vector_p95_ms));
    }
  }

  /** Stops sampling and hands leadership over (the lock is released; pauses it owns stay recorded). */
  close(options: { release?: boolean } = {}): Promise<void> {
    this.closing ??= this.shutdown(options.release ?? true);
    return this.closing;
  }

  private async shutdown(release: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    if (this.leader && release) await this.o.redis.eval(RELEASE, 1, backpressureKeys.leader, this.id).catch(() => undefined);
    this.leader = false;
    await this.signals.close?.();
    await Promise.all([this.queues.graph.close(), this.queues.vector.close()]);
  }
}

/** The composition-root hook: null when `backpressure.enabled` is false. */
export async function startBackpressure(rt: Runtime, signals?: SignalSource): Promise<BackpressureController | null> {
  const settings = rt.config.backpressure;
  if (!settings.enabled) return null;
  return new BackpressureController({
    redis: rt.redis, prefix: rt.config.queue.prefix, settings, logger: rt.logger.child({ component: 'backpressure' }), metrics: rt.metrics,
    signals: signals ?? redisSignalSource(rt.redis, rt.config.queue.prefix, settings, rt.graph),
  }).start();
}
