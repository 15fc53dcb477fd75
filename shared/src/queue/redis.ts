import { Redis, type RedisOptions } from 'ioredis';

/**
 * Workers and QueueEvents wait for Redis forever (maxRetriesPerRequest: null, BullMQ requires it);
 * producers fail fast so an API call answers instead of hanging while Redis is down.
 */
export function createRedis(url: string, role: 'worker' | 'producer', name?: string, onError?: (error: Error) => void): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: name }
      : { maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5000, connectionName: name };
  const redis = new Redis(url, options);
  // ioredis reconnects by itself; without a listener it prints every refused reconnect to stderr.
  redis.on('error', onError ?? (() => undefined));
  return redis;
}

/**
 * BullMQ objects re-emit their connection's errors; one without an 'error' listener prints every refused
 * reconnect as a raw stack trace (hundreds during a Redis outage). The connection's own listener
 * (createRedis) is where outages are reported, so these are only silenced.
 */
export function quietOnConnectionErrors<T extends { on(event: 'error', listener: (error: Error) => void): unknown }>(emitter: T): T {
  emitter.on('error', () => undefined);
  return emitter;
}

/** Warns loudly (returns the problem) when Redis may evict BullMQ keys. */
export async function checkEvictionPolicy(redis: Redis): Promise<string | null> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  return policy === 'noeviction' ? null : `Redis maxmemory-policy is ${policy}; BullMQ needs noeviction or jobs can vanish`;
}
