// One 3 MB document through the pipeline as `up --processes` runs it: this process holds the embedded
// stores and the store stages, parse/extract/embed run as child processes. Like every timed run of the
// bench it first takes WARMUP_DOCS synthetic documents it does not time (a long-running system has loaded
// and compiled its code; a fresh one pays that once). Prints {seconds, status, peak_rss_mb_store,
// peak_rss_mb_compute, peak_rss_mb_by_process, stage_ms, warmup_docs}.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createLogger, FINAL_STATUSES } from '@ingest/shared';
import { startEmbeddedSystem } from '../../services/cli/src/embedded.js';
import { startStageChildren } from '../../services/cli/src/stage-children.js';
import { benchConfig, waitForWorkers } from './runners.js';
import { bigDocument, syntheticCorpus, WARMUP_DOCS, WARMUP_SEED } from './corpus.js';

const redisUrl = process.argv[2]!;
const flush = new Redis(redisUrl);
await flush.flushdb(); // a fresh ledger: the document is new, never SKIPPED as unchanged
flush.disconnect();
const text = bigDocument(3 * 1024 * 1024);
const silent = createLogger({ service: 'b', level: 'silent', format: 'json' });
const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-big-'));
const config = benchConfig(dataDir, redisUrl);
const system = await startEmbeddedSystem(config, 'b', silent, { computeElsewhere: true });
const children = startStageChildren({
  count: 1, logger: silent,
  env: { ...process.env, LOG_LEVEL: 'silent', REDIS_URL: redisUrl, INGEST_URL: system.url, INGEST_DASHBOARD_TOKEN: 'b', INGEST_DATA_DIR: config.dataDir },
});
await waitForWorkers(redisUrl, 1);

/** Peak resident set (VmHWM) of a live process, in MB. */
const peakOf = async (pid: number) => Math.round(Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

const { pipeline } = system.runtime;
const finished = async (jobId: string) => {
  for (;;) {
    const state = await pipeline.state.get(jobId);
    if (state && FINAL_STATUSES.has(state.status)) return state;
    await new Promise((res) => setTimeout(res, 50));
  }
};
const warmups = await Promise.all(syntheticCorpus(WARMUP_DOCS, WARMUP_SEED).map((d) =>
  pipeline.submit({ bytes: Buffer.from(d.text), sourceUri: `cli://bench/warmup-${d.name}`, tag: 'bench', contentType: 'text/markdown' })));
for (const w of warmups) await finished(w.job_id);

const started = performance.now();
const r = await pipeline.submit({ bytes: Buffer.from(text), sourceUri: 'cli://bench/big.md', tag: 'bench', contentType: 'text/markdown' });
const state = await finished(r.job_id);
const seconds = (performance.now() - started) / 1000;
const status = state.status;
const byProcess: Record<string, number> = { store: Math.round(process.resourceUsage().maxRSS / 1024) };
for (const [stage, pids] of Object.entries(children.pids())) for (const pid of pids) byProcess[`ingest-${stage}`] = await peakOf(pid);
await children.stop();
await system.close();
await rm(dataDir, { recursive: true, force: true }); // ~70-80 MB of stores a run
process.stdout.write(`${JSON.stringify({
  seconds, status, bytes: text.length, sections: state.counts.sections ?? 0, warmup_docs: WARMUP_DOCS,
  peak_rss_mb_store: byProcess.store,
  peak_rss_mb_compute: Math.max(...Object.entries(byProcess).filter(([k]) => k !== 'store').map(([, v]) => v)),
  peak_rss_mb_by_process: byProcess,
  stage_ms: state.timings_ms ?? {}, error: state.error ?? null,
})}\n`);
process.exit(0);
