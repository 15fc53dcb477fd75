import { describeError, type Runtime } from '@ingest/shared';

/**
 * Removes entities no section mentions any more (DESIGN §4: re-check, then delete — the store's delete
 * re-checks inside its own statement, so an entity mentioned again meanwhile survives).
 */
export function startJanitor(rt: Runtime, intervalMs: number) {
  const log = rt.logger.child({ component: 'janitor' });
  const runOnce = async (): Promise<number> => {
    const removed = await rt.graph.removeOrphanEntities();
    if (removed > 0) log.info('orphaned entities removed', { removed });
    return removed;
  };
  const timer = setInterval(() => {
    runOnce().catch((error: unknown) => log.warn('janitor run failed', describeError(error)));
  }, intervalMs);
  timer.unref();
  return { runOnce, close: () => clearInterval(timer) };
}
