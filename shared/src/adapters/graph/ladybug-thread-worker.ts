/**
 * The LadybugDB host thread of LadybugThreadGraphStore: opens LadybugGraphStores on request and answers
 * their method calls, each store named by a handle. Loaded as `.ts` under tsx (workers inherit the
 * parent's `--import tsx`) or as `.js` when compiled.
 */
import { parentPort } from 'node:worker_threads';
import { ErrorCode, PermanentError } from '../../errors/errors.js';
import { serveMethods } from '../../util/thread-rpc.js';
import { LadybugGraphStore, type LadybugGraphStoreOptions } from './ladybug-graph-store.js';

const stores = new Map<number, LadybugGraphStore>();
let nextHandle = 1;

const storeOf = (handle: number): LadybugGraphStore => {
  const store = stores.get(handle);
  if (!store) throw new PermanentError(ErrorCode.Internal, `STORE_CLOSED: no open graph store ${handle} in the LadybugDB thread`);
  return store;
};

serveMethods(parentPort!, {
  async open(dir: string, options: LadybugGraphStoreOptions): Promise<number> {
    const store = await LadybugGraphStore.open(dir, options);
    const handle = nextHandle++;
    stores.set(handle, store);
    return handle;
  },
  invoke(handle: number, method: string, args: unknown[]): unknown {
    const store = storeOf(handle);
    const fn = (store as unknown as Record<string, unknown>)[method];
    // close goes through close(handle), which also forgets the handle.
    if (method === 'close' || typeof fn !== 'function') throw new PermanentError(ErrorCode.Internal, `graph store method ${method} cannot be called`);
    return (fn as (...a: unknown[]) => unknown).apply(store, args);
  },
  async close(handle: number): Promise<void> {
    const store = stores.get(handle);
    if (!store) return;
    try {
      await store.close();
    } finally {
      stores.delete(handle);
    }
  },
});
