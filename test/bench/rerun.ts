// The second-run case next to LangChain's incremental skip: the same documents submitted again,
// unchanged, after a first pass finished. Admission compares checksums in the ledger and answers
// SKIPPED without queueing anything, so the second pass is admission alone.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createLogger, FINAL_STATUSES, sourceUri } from '@ingest/shared';
import { startEmbeddedSystem } from '../../services/cli/src/embedded.js';
import { benchConfig } from './runners.js';
import type { BenchDoc } from './corpus.js';

export interface PipelineRerun {
  readonly docs: number;
  /** Cold pass on the embedded default (all stages in this process). */
  readonly firstSeconds: number;
  readonly firstDone: number;
  /** Resubmitting every document unchanged. */
  readonly rerunSeconds: number;
  readonly rerunSkipped: number;
}

const silent = createLogger({ service: 'bench', level: 'silent', format: 'json' });

export async function runPipelineRerun(docs: readonly BenchDoc[], redisUrl: string): Promise<PipelineRerun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-rerun-'));
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  const system = await startEmbeddedSystem(benchConfig(dir, redisUrl), 'bench', silent);
  const rt = system.runtime;
  /** Submits every document, waits until each one is final; returns seconds and the count per status. */
  const pass = async () => {
    const started = performance.now();
    const ids: string[] = [];
    for (const d of docs) {
      ids.push((await rt.pipeline.submit({ bytes: Buffer.from(d.text), sourceUri: sourceUri.cli('bench', `/b/${d.name}`, '/b'), tag: 'bench', contentType: 'text/markdown' })).job_id);
    }
    const statuses = new Map<string, number>();
    let open = ids;
    while (open.length > 0) {
      const states = await Promise.all(open.map((id) => rt.pipeline.state.get(id)));
      open = open.filter((_, i) => {
        const s = states[i];
        if (!s || !FINAL_STATUSES.has(s.status)) return true;
        statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
        return false;
      });
      if (open.length > 0) await new Promise((r) => setTimeout(r, 50));
    }
    return { seconds: (performance.now() - started) / 1000, statuses };
  };
  try {
    const first = await pass();
    const rerun = await pass();
    return {
      docs: docs.length, firstSeconds: first.seconds, firstDone: first.statuses.get('DONE') ?? 0,
      rerunSeconds: rerun.seconds, rerunSkipped: rerun.statuses.get('SKIPPED') ?? 0,
    };
  } finally {
    await system.close();
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
