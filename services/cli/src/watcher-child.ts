import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@ingest/shared';

export interface WatcherChild {
  /** The live watcher process, if any. */
  pid(): number | null;
  stop(): Promise<void>;
}

/**
 * Runs the spool watcher (watcher-process.ts, title ingest-watcher) and restarts it when it dies, with
 * the compute children's backoff; its start-up rescan admits whatever landed while it was down.
 */
export function startWatcherChild(o: { dirs: readonly string[]; env: NodeJS.ProcessEnv; logger: Logger }): WatcherChild {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'watcher-process.ts');
  let child: ChildProcess;
  let stopping = false;
  const launch = (restarts: number) => {
    // The IPC channel is the child's lifeline, as for the compute children: if `up` dies, it stops.
    child = spawn(process.execPath, [...process.execArgv, entry, ...o.dirs], { env: o.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      o.logger.warn('watcher process exited; restarting', { code, signal, restarts });
      setTimeout(() => { if (!stopping) launch(restarts + 1); }, Math.min(5000, 200 * 2 ** Math.min(restarts, 5))).unref();
    });
  };
  launch(0);
  return {
    pid: () => (child.exitCode === null && child.signalCode === null ? child.pid ?? null : null),
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
