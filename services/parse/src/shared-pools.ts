import { ParsePool } from './parse-pool.js';
import type { ParseOptions, ParsedDocument } from './types.js';

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
