import { readFile } from 'node:fs/promises';
import { ErrorCode, RetryableError } from '../errors/errors.js';
import type { StoreRole } from '../backpressure/latency.js';
import { aroundMethods } from '../util/around-methods.js';

/**
 * Tests only (chaos suite, issue 6): the in-process stores of the embedded default (LadybugDB, LanceDB)
 * have no wire a fault proxy could sit on, so a test slows or fails their writes through this decorator.
 * It exists only when INGEST_TEST_STORE_FAULTS names a JSON file (re-read at most every 100 ms, so a test
 * switches faults on and off while the system runs), of the form
 *   { "vector": { "delayMs": 600, "failEvery": 3, "from": <epoch ms>, "until": <epoch ms> }, "graph": { … } }
 * `failEvery: n` fails every n-th write of that store with a RetryableError; a missing file means no fault.
 */
export interface StoreFault { readonly delayMs?: number; readonly failEvery?: number; readonly from?: number; readonly until?: number }
type Faults = Partial<Record<StoreRole, StoreFault>>;

const REREAD_MS = 100;

export function withTestStoreFaults<T extends object>(target: T, role: StoreRole, ops: readonly (keyof T & string)[], file = process.env.INGEST_TEST_STORE_FAULTS): T {
  if (!file) return target;
  let cached: { at: number; faults: Faults } = { at: 0, faults: {} };
  let writes = 0;
  const current = async (): Promise<StoreFault | undefined> => {
    if (Date.now() - cached.at > REREAD_MS) {
      const text = await readFile(file, 'utf8').catch(() => '{}');
      let faults: Faults = {};
      try { faults = JSON.parse(text) as Faults; } catch { /* a half-written file: keep no faults until the next read */ }
      cached = { at: Date.now(), faults };
    }
    const f = cached.faults[role];
    const now = Date.now();
    return f && (f.from === undefined || now >= f.from) && (f.until === undefined || now < f.until) ? f : undefined;
  };
  return aroundMethods(target, ops, async (_op, call) => {
    const f = await current();
    if (f?.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    if (f?.failEvery && ++writes % f.failEvery === 0) {
      throw new RetryableError(ErrorCode.StoreUnavailable, `injected ${role} store fault (INGEST_TEST_STORE_FAULTS)`);
    }
    return call();
  });
}
