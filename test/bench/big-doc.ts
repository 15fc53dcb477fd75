// One 3 MB document through the pipeline in a fresh process; prints {seconds, status, peak_rss_mb}.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, FINAL_STATUSES } from '@ingest/shared';
import { startEmbeddedSystem } from '../../services/cli/src/embedded.js';
import { benchConfig } from './runners.js';
import { bigDocument } from './corpus.js';

const redisUrl = process.argv[2]!;
const text = bigDocument(3 * 1024 * 1024);
const system = await startEmbeddedSystem(benchConfig(await mkdtemp(path.join(tmpdir(), 'bench-big-')), redisUrl), 'b', createLogger({ service: 'b', level: 'silent', format: 'json' }));
const started = performance.now();
const r = await system.runtime.pipeline.submit({ bytes: Buffer.from(text), sourceUri: 'cli://bench/big.md', tag: 'bench', contentType: 'text/markdown' });
let status = r.status as string;
while (!FINAL_STATUSES.has(status as never)) {
  await new Promise((res) => setTimeout(res, 50));
  status = (await system.runtime.pipeline.state.get(r.job_id))?.status ?? status;
}
const seconds = (performance.now() - started) / 1000;
const state = await system.runtime.pipeline.state.get(r.job_id);
await system.close();
process.stdout.write(`${JSON.stringify({ seconds, status, bytes: text.length, sections: state?.counts.sections ?? 0, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
process.exit(0);
