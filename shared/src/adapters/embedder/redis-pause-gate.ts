/**
 * The HTTP embedder's 429 pause in Redis, so that every process calling the same embedder (the embed
 * stage processes, verify and the query API) stops for the server's Retry-After, not only the one that
 * was refused: the provider's limit is one limit for all of them (research F16). One key per embedder
 * endpoint + model; its TTL is the pause.
 *
 * With `maxRequestsPerSecond` it also spaces requests (all processes together) at least 1/rate apart:
 * GCRA with a burst of one (the key holds the theoretical arrival time of the next request, on Redis's
 * clock), so any 1 s window holds at most `rate` requests and no herd forms when a pause ends.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { PauseGate } from './http-embedder.js';

// Extends, never shortens, a pause another process set.
const PAUSE = `local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 0`;

// 0 = the slot is taken; otherwise ms until the next one.
const SLOT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now then return tat - now end
redis.call('SET', KEYS[1], tostring(now + interval), 'PX', math.ceil(interval) + 1000)
return 0`;

export function redisPauseGate(redis: Redis, url: string, model: string, maxRequestsPerSecond?: number): PauseGate {
  const id = createHash('sha256').update(`${url}\n${model}`).digest('hex').slice(0, 16);
  const key = `ingest:embedder-pause:${id}`;
  const interval = maxRequestsPerSecond ? 1000 / maxRequestsPerSecond : 0;
  return {
    ...(interval > 0 ? { acquire: async () => Number(await redis.eval(SLOT, 1, `ingest:embedder-slot:${id}`, String(interval))) } : {}),
    async remaining() {
      return Math.max(0, await redis.pttl(key));
    },
    async pause(ms) {
      await redis.eval(PAUSE, 1, key, String(Math.ceil(ms)));
    },
  };
}
