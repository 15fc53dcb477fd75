import { describeError, type Runtime } from '@ingest/shared';

/**
 * Removes entities no section mentions any more (DESIGN §4: re-check, then delete — the store's delete
 * re-checks inside its own statement, so an entity mentioned again meanwhile survives). And, on the
 * admission lease's cadence, settles admissions whose submitter died before adding their flow
 * (Pipeline.sweepStuckAdmissions: a ledger CAS per document, so several janitors never race).
 */
export function startJanitor(rt: Runtime, intervalMs: number) {
  const log = rt.logger.child({ component: 'janitor' });
  const runOnce = async (): Promise<number> => {
    const removed = await rt.graph.removeOrphanEntities();
    if (removed > 0) log.info('orphaned entities removed', { removed });
    return removed;
  };
  const sweepAdmissions = async () => {
    const outcomes = await rt.pipeline.sweepStuckAdmissions();
    for (const o of outcomes) log.warn('interrupted admission settled', { ...o });
    return outcomes;
  };
  const timer = setInterval(() => {
    runOnce().catch((error: unknown) => log.warn('janitor run failed', describeError(error)));
  }, intervalMs);
  // One ZRANGEBYSCORE per tick when nothing is stuck; a stuck version waits at most about two leases.
  const admissionTimer = setInterval(() => {
    sweepAdmissions().catch((error: unknown) => log.warn('admission sweep failed', describeError(error)));
  }, Math.max(250, rt.pipeline.leaseMs));
  timer.unref();
  admissionTimer.unref();
  return { runOnce, sweepAdmissions, close: () => { clearInterval(timer); clearInterval(admissionTimer); } };
}
