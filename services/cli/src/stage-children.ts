import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@ingest/shared';

export const COMPUTE_STAGES = ['parse', 'extract', 'embed'] as const;

/**
 * V8 heap flags of the compute children (issue 7: ≤ 256 MB each for the 3 MB bench document). V8's default
 * nursery grows to two 16 MB semi-spaces and stays there: an idle child held ~137 MB, with 4 MB semi-spaces
 * ~112 (extract then peaked at 142-168 MB instead of 200-207). The flag is process-wide and would also
 * override the parse threads' own young generation; ParsePool clears it before each thread starts
 * (parse-pool.ts), so it sizes only the main thread's nursery. Parse also grows its
 * heap by 25% over what the last full GC kept instead of by V8's own factor: its thread drops a tree per
 * segment and lives on ~25 MB, yet garbage took its heap to ~90 MB. Bench peaks of ingest-parse:
 * 226-243 MB without the flag, 203-252 with 50%, 214-227 with 25%. The full GCs cost time: with 16 KB
 * pieces (parse-markdown.ts) 25% gave 214-219 MB and a 4.2-4.9 s parse stage, 50% 227-229 MB and 3.5-4.3 s. Embed
 * promotes the half-built vectors of a batch (the embedder yields while it works) and its heap wandered
 * to 70-120 MB for ~40 MB live: embed stage alone 175-218 MB, with 50% 187-192 (25%: 181-183, 10% slower).
 * Embed's nursery is 8 MB semi-spaces: the hashing embedder runs on the main thread and allocates a Map and
 * feature strings per text, and 4 MB made the 3 MB document's embed stage 700-715 ms against 546-568 with
 * V8's own 16 MB (8 MB: 632-652 cold). Once a child has taken the bench's warm-up documents, V8's own
 * nursery has grown to its full size and stays there: embed then peaked at 245-265 MB on the 3 MB
 * document, over the 256 MB budget, and at 195-199 MB with 8 MB semi-spaces (stage 564-707 ms against
 * 575-643, interleaved runs).
 * ENV INGEST_STAGE_NODE_FLAGS replaces them for every stage (space-separated; empty for V8's defaults).
 */
export const STAGE_NODE_FLAGS: Readonly<Record<(typeof COMPUTE_STAGES)[number], readonly string[]>> = {
  parse: ['--max-semi-space-size=4', '--heap-growing-percent=25'],
  extract: ['--max-semi-space-size=4'],
  embed: ['--max-semi-space-size=8', '--heap-growing-percent=50'],
};

/** The node flags a compute child starts with (before the parent's own execArgv, so `--import tsx` and the like still apply). */
export function stageNodeFlags(stage: (typeof COMPUTE_STAGES)[number], env: NodeJS.ProcessEnv): string[] {
  const override = env.INGEST_STAGE_NODE_FLAGS;
  return override === undefined ? [...STAGE_NODE_FLAGS[stage]] : override.split(/\s+/).filter(Boolean);
}

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

  const launch = (stage: (typeof COMPUTE_STAGES)[number], slot: number, restarts: number) => {
    // The IPC channel is the child's lifeline: when this process dies (even by SIGKILL) it closes and the
    // child shuts down instead of working on as an orphan (stage-process.ts).
    const child = spawn(process.execPath, [...stageNodeFlags(stage, o.env), ...process.execArgv, entry, stage], { env: o.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
