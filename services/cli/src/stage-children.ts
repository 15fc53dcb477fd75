import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@ingest/shared';

export const COMPUTE_STAGES = ['parse', 'extract', 'embed'] as const;

export interface StageChildren {
  /** Live children by stage, for tests and status. */
  pids(): Record<string, number[]>;
  stop(): Promise<void>;
}

/**
 * Runs `count` processes per compute stage and restarts any that dies (with a short backoff), so
 * scale-out works on one machine with the embedded stores (issue: production stores, item 7).
 */
export function startStageChildren(o: { count: number; env: NodeJS.ProcessEnv; logger: Logger }): StageChildren {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stage-process.ts');
  const live = new Map<string, ChildProcess[]>(COMPUTE_STAGES.map((s) => [s, []]));
  let stopping = false;

  const launch = (stage: string, slot: number, restarts: number) => {
    // The IPC channel is the child's lifeline: when this process dies (even by SIGKILL) it closes and the
    // child shuts down instead of working on as an orphan (stage-process.ts).
    const child = spawn(process.execPath, [...process.execArgv, entry, stage], { env: o.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    live.get(stage)![slot] = child;
    child.once('exit', (code, signal) => {
      if (stopping) return;
      o.logger.warn('stage process exited; restarting', { stage, code, signal, restarts });
      setTimeout(() => launch(stage, slot, restarts + 1), Math.min(5000, 200 * 2 ** Math.min(restarts, 5))).unref();
    });
  };
  for (const stage of COMPUTE_STAGES) for (let i = 0; i < o.count; i++) launch(stage, i, 0);

  return {
    pids: () => Object.fromEntries([...live].map(([s, cs]) => [s, cs.filter((c) => c.exitCode === null).map((c) => c.pid!)])),
    async stop() {
      stopping = true;
      const all = [...live.values()].flat().filter((c) => c.exitCode === null && c.signalCode === null);
      await Promise.all(all.map((c) => new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      })));
    },
  };
}
