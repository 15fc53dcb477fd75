// Every measured run in a process of its own. Run inside the benchmark's process, the direct run and
// the pipeline in one process made 25-26 docs/s where the same code made 30-37 standalone: the
// benchmark process carries what earlier runs left (heap, LanceDB and LangChain state, the arenas of
// threads that have ended), and only runs that worked in child processes escaped it. A fresh process
// per run, each after its own warm-up documents, gives every mode the same footing.
import { spawn } from 'node:child_process';
import type { BenchDoc } from './corpus.js';
import type { LangChainOptions, LangChainRun } from './langchain.js';
import type { PipelineRerun } from './rerun.js';
import type { RunResult, runPipeline } from './runners.js';

interface Docs { readonly docs: readonly BenchDoc[]; readonly warmup: readonly BenchDoc[] }
export type RunRequest = Docs & (
  | { mode: 'direct'; redisUrl: string; inFlight: number; synchronised?: boolean }
  | { mode: 'pipeline'; redisUrl: string; ratePerSecond?: number; computeProcesses: number }
  | { mode: 'langchain'; options: LangChainOptions }
  | { mode: 'rerun'; redisUrl: string }
);
export type PipelineRun = Awaited<ReturnType<typeof runPipeline>>;

interface Child<T> { readonly ready: Promise<void>; readonly result: Promise<T>; go(): void }

function startChild<T>(request: RunRequest): Child<T> {
  const child = spawn(process.execPath, [...process.execArgv, new URL('./run-child.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  const stdout: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => stdout.push(c));
  // What a failing run said last goes into its error, not onto the benchmark's own output.
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-4000); });
  const result = new Promise<T>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(JSON.parse(Buffer.concat(stdout).toString('utf8')) as T);
      else reject(new Error(`${request.mode} run exited with ${code}: ${lastError(stderr)}`));
    });
  });
  // A child that dies while warming up fails the run instead of leaving it waiting for its 'ready'.
  const ready = Promise.race([
    new Promise<void>((resolve) => child.once('message', () => resolve())),
    result.then(() => Promise.reject(new Error(`a ${request.mode} run ended before it was warm`))),
  ]);
  ready.catch(() => undefined);
  child.stdin!.end(JSON.stringify(request));
  return { ready, result, go: () => child.send('go') };
}

/** The line naming the error in a Node stack dump, else the last non-empty line. */
function lastError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.at(-1) ?? 'no output';
}

export const inChild = {
  direct: (docs: readonly BenchDoc[], redisUrl: string, inFlight: number, warmup: readonly BenchDoc[]) =>
    startChild<RunResult>({ mode: 'direct', docs, warmup, redisUrl, inFlight }).result,
  pipeline: (docs: readonly BenchDoc[], redisUrl: string, ratePerSecond: number | undefined, computeProcesses: number, warmup: readonly BenchDoc[]) =>
    startChild<PipelineRun>({ mode: 'pipeline', docs, warmup, redisUrl, ratePerSecond, computeProcesses }).result,
  langchain: (docs: readonly BenchDoc[], options: LangChainOptions, warmup: readonly BenchDoc[]) =>
    startChild<LangChainRun>({ mode: 'langchain', docs, warmup, options }).result,
  rerun: (docs: readonly BenchDoc[], redisUrl: string) => startChild<PipelineRerun>({ mode: 'rerun', docs, warmup: [], redisUrl }).result,
};

/**
 * Two direct runs at once in two processes (the denominator of scaling efficiency), each on half the corpus,
 * each after half the warm-up documents. The clock starts when both are warm (each waits for the other
 * before its timed part), as the pipeline's starts after its processes are up and warm: before, it also
 * counted two processes loading their modules, ~15 % of a round, which made the denominator smaller.
 */
export async function runDirectTwoProcesses(docs: readonly BenchDoc[], redisUrl: string, inFlight: number, warmup: readonly BenchDoc[]): Promise<RunResult> {
  const half = Math.ceil(docs.length / 2);
  const warmHalf = Math.ceil(warmup.length / 2);
  const children = [0, 1].map((k) => startChild<RunResult>({
    mode: 'direct', synchronised: true, inFlight, redisUrl: redisUrl.replace(/\/\d*$/, '') + `/${k + 1}`,
    docs: docs.slice(k * half, (k + 1) * half), warmup: warmup.slice(k * warmHalf, (k + 1) * warmHalf),
  }));
  await Promise.all(children.map((c) => c.ready));
  const started = performance.now();
  for (const c of children) c.go();
  const runs = await Promise.all(children.map((c) => c.result));
  return { seconds: (performance.now() - started) / 1000, docs: docs.length, done: runs.reduce((a, r) => a + r.done, 0), redisCommands: 0, latenciesMs: [] };
}
