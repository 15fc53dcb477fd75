// One 3 MB document through the pipeline as `up --processes` runs it: this process holds the embedded
// stores and the store stages, parse/extract/embed run as child processes. Prints {seconds, status,
// peak_rss_mb_store, peak_rss_mb_compute, peak_rss_mb_by_process, stage_ms}.
import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createLogger, FINAL_STATUSES } from '@ingest/shared';
import { startEmbeddedSystem } from '../../services/cli/src/embedded.js';
import { startStageChildren } from '../../services/cli/src/stage-children.js';
import { benchConfig, waitForWorkers } from './runners.js';
import { bigDocument } from './corpus.js';

const redisUrl = process.argv[2]!;
const flush = new Redis(redisUrl);
await flush.flushdb(); // a fresh ledger: the document is new, never SKIPPED as unchanged
flush.disconnect();
const text = bigDocument(3 * 1024 * 1024);
const silent = createLogger({ service: 'b', level: 'silent', format: 'json' });
const config = benchConfig(await mkdtemp(path.join(tmpdir(), 'bench-big-')), redisUrl);
const system = await startEmbeddedSystem(config, 'b', silent, { computeElsewhere: true });
const children = startStageChildren({
  count: 1, logger: silent,
  env: { ...process.env, LOG_LEVEL: 'silent', REDIS_URL: redisUrl, INGEST_URL: system.url, INGEST_DASHBOARD_TOKEN: 'b', INGEST_DATA_DIR: config.dataDir },
});
await waitForWorkers(redisUrl, 1);

/** Peak resident set (VmHWM) of a live process, in MB. */
const peakOf = async (pid: number) => Math.round(Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

const started = performance.now();
const r = await system.runtime.pipeline.submit({ bytes: Buffer.from(text), sourceUri: 'cli://bench/big.md', tag: 'bench', contentType: 'text/markdown' });
let status = r.status as string;
while (!FINAL_STATUSES.has(status as never)) {
  await new Promise((res) => setTimeout(res, 50));
  status = (await system.runtime.pipeline.state.get(r.job_id))?.status ?? status;
}
const seconds = (performance.now() - started) / 1000;
const state = await system.runtime.pipeline.state.get(r.job_id);
const byProcess: Record<string, number> = { store: Math.round(process.resourceUsage().maxRSS / 1024) };
for (const [stage, pids] of Object.entries(children.pids())) for (const pid of pids) byProcess[`ingest-${stage}`] = await peakOf(pid);
await children.stop();
await system.close();
process.stdout.write(`${JSON.stringify({
  seconds, status, bytes: text.length, sections: state?.counts.sections ?? 0,
  peak_rss_mb_store: byProcess.store,
  peak_rss_mb_compute: Math.max(...Object.entries(byProcess).filter(([k]) => k !== 'store').map(([, v]) => v)),
  peak_rss_mb_by_process: byProcess,
  stage_ms: state?.timings_ms ?? {}, error: state?.error ?? null,
})}\n`);
process.exit(0);
