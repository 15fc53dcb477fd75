// `npm run bench` (DESIGN §14): ratios taken in one run on this machine. Writes reports/bench/<ts>.json,
// .md and .svg. Direct, pipeline and LangChain.js runs are interleaved, medians of 3 after a warm-up.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, STAGES } from '@ingest/shared';
import { parseMarkdown } from '@ingest/parse';
import { spawnRedis } from '../../services/cli/src/redis-server.js';
import { redisDocsCorpus, syntheticCorpus, WARMUP_DOCS, WARMUP_SEED } from './corpus.js';
import type { RunResult } from './runners.js';
import { inChild, runDirectTwoProcesses } from './isolated.js';
import { barChartSvg } from './chart.js';
import { benchPostgresUrl, type LangChainRun } from './langchain.js';

const IN_FLIGHT = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SYNTHETIC = Number(process.env.BENCH_DOCS ?? 200);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0; };
const rate = (r: RunResult) => r.done / r.seconds;
const log = (m: string) => process.stderr.write(`bench: ${m}\n`);
const lcRate = (r: LangChainRun) => r.docs / r.first.seconds;
const lcOptions = { postgresUrl: benchPostgresUrl(), dimensions: 384 };

/**
 * The machine's speed now: ms to parse the 200 synthetic documents in this thread (median of three). This
 * machine's CPU speed drifts by up to half within minutes, which moves every absolute figure (the 3 MB
 * document's seconds, latencies) but not the ratios of interleaved runs; the report gives it at the start
 * and the end so a reader can tell a slow machine from a slow build.
 */
function yardstickMs(docs: readonly { text: string }[]): number {
  const times = [0, 1, 2].map(() => {
    const t = performance.now();
    for (const d of docs) parseMarkdown(d.text, { documentId: 'y', sourceUri: 'cli://bench/yardstick.md' });
    return performance.now() - t;
  });
  return Math.round(median(times));
}

const benchStarted = performance.now();
const redisDir = await mkdtemp(path.join(os.tmpdir(), 'bench-redis-'));
const redis = await spawnRedis({ binary: 'redis-server', dir: redisDir, password: 'bench' });
try {
  const synthetic = syntheticCorpus(SYNTHETIC);
  const redisDocs = process.env.BENCH_SKIP_CORPUS ? null : await redisDocsCorpus(path.join(REPO_ROOT, '../shared/corpus/redis-docs'));
  const yardstickAtStart = yardstickMs(synthetic);
  log(`yardstick at the start: ${yardstickAtStart} ms to parse the ${SYNTHETIC} synthetic documents in one thread`);
  log(`warm-up`);
  // Every run below is a process of its own with its own warm-up documents; this first pass only brings
  // the modules and the stores' libraries into the page cache.
  await inChild.direct(synthetic.slice(0, 30), redis.url, IN_FLIGHT, []);
  await inChild.pipeline(synthetic.slice(0, 30), redis.url, undefined, 1, []);
  // The LangChain baseline needs the PostgreSQL its record manager lives in; without one it is reported as not measured.
  const lcUnavailable = await inChild.langchain(synthetic.slice(0, 30), lcOptions, []).then(() => null, (e: Error) => `LangChain baseline not run: ${e.message} (PostgreSQL at ${lcOptions.postgresUrl.replace(/\/\/[^@]*@/, '//')}; set BENCH_POSTGRES_URL)`);
  if (lcUnavailable) log(lcUnavailable);

  const direct: RunResult[] = [];
  const direct2: RunResult[] = [];
  const pipeline: RunResult[] = [];
  const pipeline2: RunResult[] = [];
  const inProcess: RunResult[] = [];
  const langchain: LangChainRun[] = [];
  // Every run starts its stores, threads and processes afresh, so each gets its own warm-up documents
  // first (JIT, the stores' first statements), as the open loop does: without them a run with two processes
  // per stage paid twice the cold start of one, and throughput rounds measured start-up as much as ingestion.
  const warmup = syntheticCorpus(WARMUP_DOCS, WARMUP_SEED);
  for (let i = 0; i < ROUNDS; i++) {
    direct.push(await inChild.direct(synthetic, redis.url, IN_FLIGHT, warmup));
    pipeline.push(await inChild.pipeline(synthetic, redis.url, undefined, 1, warmup));
    pipeline2.push(await inChild.pipeline(synthetic, redis.url, undefined, 2, warmup));
    direct2.push(await runDirectTwoProcesses(synthetic, redis.url, IN_FLIGHT, warmup));
    inProcess.push(await inChild.pipeline(synthetic, redis.url, undefined, 0, warmup));
    if (!lcUnavailable) langchain.push(await inChild.langchain(synthetic, lcOptions, warmup));
    log(`round ${i + 1}: direct ${rate(direct.at(-1)!).toFixed(1)}, pipeline(1/stage) ${rate(pipeline.at(-1)!).toFixed(1)}, pipeline(2/stage) ${rate(pipeline2.at(-1)!).toFixed(1)}, direct×2 processes ${rate(direct2.at(-1)!).toFixed(1)}, pipeline in one process ${rate(inProcess.at(-1)!).toFixed(1)}, LangChain index() ${langchain.length ? lcRate(langchain.at(-1)!).toFixed(1) : '-'} docs/s`);
  }
  const directRate = median(direct.map(rate));
  const pipelineRate = median(pipeline.map(rate));
  const pipeline2Rate = median(pipeline2.map(rate));
  const direct2Rate = median(direct2.map(rate));
  const inProcessRate = median(inProcess.map(rate));
  // Ratios are taken per round, between runs minutes apart at most, then their median: this machine's
  // speed drifts by up to a third within minutes (the yardstick), and a ratio of medians can pair a
  // run from a fast minute with one from a slow minute.
  const perRound = (ratio: (i: number) => number) => median(Array.from({ length: ROUNDS }, (_, i) => ratio(i)));
  const pipelineVsDirect = perRound((i) => rate(pipeline[i]!) / rate(direct[i]!));
  const scalingEfficiency = perRound((i) => (rate(pipeline2[i]!) / rate(pipeline[i]!)) / (rate(direct2[i]!) / rate(direct[i]!)));
  const pipelineVsLangchainSynthetic = langchain.length ? perRound((i) => rate(pipeline[i]!) / lcRate(langchain[i]!)) : null;

  let corpus: { docs: number; direct_docs_per_s: number; pipeline_docs_per_s: number; langchain_docs_per_s: number | null; pipeline_vs_langchain: number | null } | null = null;
  const lcRedisDocs: LangChainRun[] = [];
  if (redisDocs) {
    // Interleaved rounds here too: the peer ratio is headlined on this corpus.
    const d: RunResult[] = [];
    const p: RunResult[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      d.push(await inChild.direct(redisDocs, redis.url, IN_FLIGHT, warmup));
      p.push(await inChild.pipeline(redisDocs, redis.url, undefined, 1, warmup));
      if (!lcUnavailable) lcRedisDocs.push(await inChild.langchain(redisDocs, lcOptions, warmup));
      log(`redis-docs round ${i + 1}: direct ${rate(d.at(-1)!).toFixed(1)}, pipeline ${rate(p.at(-1)!).toFixed(1)}, LangChain index() ${lcRedisDocs.length ? lcRate(lcRedisDocs.at(-1)!).toFixed(1) : '-'} docs/s`);
    }
    corpus = { docs: redisDocs.length, direct_docs_per_s: median(d.map(rate)), pipeline_docs_per_s: median(p.map(rate)), langchain_docs_per_s: lcRedisDocs.length ? median(lcRedisDocs.map(lcRate)) : null,
      pipeline_vs_langchain: lcRedisDocs.length ? perRound((i) => rate(p[i]!) / lcRate(lcRedisDocs[i]!)) : null };
  }
  const langchainRate = langchain.length ? median(langchain.map(lcRate)) : null;

  // The second-run case: everything again, unchanged. The pipeline answers SKIPPED at admission;
  // index() re-hashes every chunk and asks the record manager. The pipeline side needs a cold pass
  // first (on the embedded default), so it runs on the synthetic corpus, where that pass is short.
  const pipelineRerun = await inChild.rerun(synthetic, redis.url);
  const lcSecond = (runs: LangChainRun[]) => (runs.length ? {
    seconds: median(runs.map((r) => r.rerun.seconds)), chunks: runs[0]!.rerun.chunks,
    skipped: median(runs.map((r) => r.rerun.result.numSkipped)), re_added: median(runs.map((r) => r.rerun.result.numAdded)),
  } : null);
  const secondRun = {
    corpus: 'synthetic', docs: synthetic.length,
    pipeline: { seconds: pipelineRerun.rerunSeconds, skipped: pipelineRerun.rerunSkipped },
    langchain: lcSecond(langchain),
    langchain_redis_docs: lcSecond(lcRedisDocs),
  };
  log(`second run, unchanged (synthetic): pipeline ${secondRun.pipeline.seconds.toFixed(2)} s (${secondRun.pipeline.skipped}/${secondRun.docs} SKIPPED), LangChain ${secondRun.langchain ? `${secondRun.langchain.seconds.toFixed(2)} s (${secondRun.langchain.skipped}/${secondRun.langchain.chunks} chunks skipped, ${secondRun.langchain.re_added} re-added)` : '-'}`);

  // After a warm-up of WARMUP_DOCS documents through the same system (not counted; the first documents after a
  // start pay one-time costs), as the throughput runs measure after theirs; the cold figure is reported too.
  const open = await inChild.pipeline(synthetic, redis.url, pipeline2Rate / 2, 2, warmup);
  const cold = [...open.warmupLatenciesMs, ...open.latenciesMs];
  log(`open loop at ${(pipeline2Rate / 2).toFixed(1)} docs/s: p50 ${pct(open.latenciesMs, 50)} ms, p95 ${pct(open.latenciesMs, 95)} ms after ${WARMUP_DOCS} warm-up documents; from a cold start p50 ${pct(cold, 50)}, p95 ${pct(cold, 95)} ms`);
  log(`open loop, mean ms per stage (wait/run), slowest tenth: ${STAGES.map((s) => `${s} ${open.stages?.slowest_tenth.wait_ms[s]}/${open.stages?.slowest_tenth.run_ms[s]}`).join(', ')}`);

  // The 3 MB document, ROUNDS times (each in a fresh system after its warm-up documents): the median run's
  // time and stage times, the highest peak RSS of each process over all runs, and a status that is DONE
  // only if every run ended DONE.
  type BigRun = { seconds: number; status: string; sections: number; peak_rss_mb_store: number; peak_rss_mb_compute: number; peak_rss_mb_by_process: Record<string, number>; stage_ms: Record<string, number> };
  const bigRuns: BigRun[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/bench/big-doc.ts'), redis.url], { cwd: REPO_ROOT, maxBuffer: 1 << 20 });
    bigRuns.push(JSON.parse(stdout) as BigRun);
    log(`3 MB document, run ${i + 1}: ${bigRuns.at(-1)!.seconds.toFixed(2)} s, ${bigRuns.at(-1)!.status}`);
  }
  const bigMedian = [...bigRuns].sort((a, b) => a.seconds - b.seconds)[Math.floor(bigRuns.length / 2)]!;
  const peakOver = (pick: (r: BigRun) => number) => Math.max(...bigRuns.map(pick));
  const big = {
    seconds: bigMedian.seconds,
    runs_seconds: bigRuns.map((r) => Number(r.seconds.toFixed(3))),
    status: bigRuns.find((r) => r.status !== 'DONE')?.status ?? 'DONE',
    sections: bigMedian.sections,
    peak_rss_mb_store: peakOver((r) => r.peak_rss_mb_store),
    peak_rss_mb_compute: peakOver((r) => r.peak_rss_mb_compute),
    peak_rss_mb_by_process: Object.fromEntries(Object.keys(bigMedian.peak_rss_mb_by_process).map((p) => [p, peakOver((r) => r.peak_rss_mb_by_process[p] ?? 0)])),
    stage_ms: bigMedian.stage_ms,
  };
  const bigRss = Object.entries(big.peak_rss_mb_by_process).map(([p, mb]) => `${p} ${mb} MB`).join(', ');
  log(`3 MB document: median ${big.seconds.toFixed(2)} s of ${big.runs_seconds.join(', ')}, ${big.status}, highest peak RSS ${bigRss}`);

  const yardstickAtEnd = yardstickMs(synthetic);
  log(`yardstick at the end: ${yardstickAtEnd} ms`);

  const pkg = async (name: string) => (JSON.parse(await readFile(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  const result = {
    generated_at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gb: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, malloc_arena_max: process.env.MALLOC_ARENA_MAX || null, yardstick_ms: { start: yardstickAtStart, end: yardstickAtEnd, what: `parse the ${SYNTHETIC} synthetic documents in one thread, median of 3 (lower is faster)` } },
    versions: {
      node: process.version, bullmq: await pkg('bullmq'), ladybugdb: await pkg('@ladybugdb/core'), lancedb: await pkg('@lancedb/lancedb'),
      postgres: langchain[0]?.postgresVersion ?? null, langchain_core: await pkg('@langchain/core'), langchain_textsplitters: await pkg('@langchain/textsplitters'), langchain_community: await pkg('@langchain/community'),
    },
    corpus: { synthetic: { docs: SYNTHETIC, bytes_per_doc: Math.round(synthetic.reduce((a, d) => a + d.text.length, 0) / SYNTHETIC), seed: 42 }, redis_docs: corpus },
    bench_seconds: 0,
    method: `${ROUNDS} interleaved rounds after a warm-up, medians (a ratio: the median of its per-round ratios); every run (direct, pipeline, each direct process) first takes ${WARMUP_DOCS} warm-up documents it does not count; ${IN_FLIGHT} documents in flight per direct process; pipeline = \`up --processes\`: store stages in one process, parse/extract/embed in 1 (b) or 2 (c) child processes each; every run (LangChain.js too, after its own warm-up run) in a fresh process of its own, the benchmark's process only starting them and collecting results`,
    docs_per_s: { direct: directRate, direct_two_processes: direct2Rate, pipeline: pipelineRate, pipeline_two_per_stage: pipeline2Rate, pipeline_one_process: inProcessRate, langchain: langchainRate },
    ratios: {
      pipeline_vs_direct: pipelineVsDirect,
      // Headlined on redis-docs (real Markdown); the synthetic figure alongside.
      pipeline_vs_langchain: corpus?.pipeline_vs_langchain ?? pipelineVsLangchainSynthetic,
      pipeline_vs_langchain_corpus: corpus?.pipeline_vs_langchain ? 'redis-docs' : 'synthetic',
      pipeline_vs_langchain_synthetic: pipelineVsLangchainSynthetic,
      scaling_efficiency: scalingEfficiency,
    },
    not_measured: lcUnavailable ? { pipeline_vs_langchain: lcUnavailable } : {},
    langchain: {
      setup: 'index() from @langchain/core/indexing, default batchSize 100, cleanup "incremental", sourceIdKey "source"; PostgresRecordManager (@langchain/community, the SQL record manager of LangChain\'s indexing docs) on PostgreSQL over loopback, a fresh schema per run; MarkdownTextSplitter with its defaults (chunkSize 1000, overlap 200); LanceDB via LangChain\'s integration code plus ids + delete; the same hashing embedder (384 dims). One process, one batch at a time (index() awaits each batch, as documented). Timed from raw Markdown strings to stored vectors, like the pipeline. It builds no graph, extracts no entities and runs no verify; the pipeline does all three',
      chunks_per_doc: { synthetic: langchain.length ? langchain[0]!.first.chunks / SYNTHETIC : null, redis_docs: lcRedisDocs.length && redisDocs ? lcRedisDocs[0]!.first.chunks / redisDocs.length : null },
    },
    second_run: secondRun,
    latency_ms: {
      p50: pct(open.latenciesMs, 50), p95: pct(open.latenciesMs, 95), arrival_rate_docs_per_s: pipeline2Rate / 2, warmup_docs: WARMUP_DOCS,
      stages: open.stages,
      including_cold_start: { p50: pct(cold, 50), p95: pct(cold, 95), max: Math.max(...cold) },
    },
    big_doc: { seconds: big.seconds, runs_seconds: big.runs_seconds, status: big.status, sections: big.sections, peak_rss_mb_compute: big.peak_rss_mb_compute, peak_rss_mb_store: big.peak_rss_mb_store, peak_rss_mb_by_process: big.peak_rss_mb_by_process, stage_ms: big.stage_ms, note: `as up --processes runs it: the store stages and embedded stores in one process, parse/extract/embed one process each; ${ROUNDS} runs, each in a fresh system after ${WARMUP_DOCS} warm-up documents: the median run's time and stage times, each process's highest peak RSS over the runs` },
    redis_commands_per_doc: median(pipeline.map((r) => r.redisCommands / r.docs)),
    redis_commands_per_doc_direct: median(direct.map((r) => r.redisCommands / r.docs)),
    runs: {
      direct, direct2, pipeline: pipeline.map((r) => ({ ...r, latenciesMs: undefined })), pipeline2: pipeline2.map((r) => ({ ...r, latenciesMs: undefined })),
      langchain_synthetic: langchain, langchain_redis_docs: lcRedisDocs, pipeline_rerun: pipelineRerun,
    },
  };
  result.bench_seconds = Math.round((performance.now() - benchStarted) / 1000);
  const stamp = result.generated_at.replace(/[:.]/g, '-');
  const dir = path.join(REPO_ROOT, 'reports/bench');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${stamp}.json`), JSON.stringify(result, null, 2));
  const svg = barChartSvg('Documents per second (higher is better)', [
    { label: 'direct (synthetic)', value: directRate }, { label: 'pipeline, 1 proc/stage', value: pipelineRate },
    { label: 'direct, 2 processes', value: direct2Rate }, { label: 'pipeline, 2 proc/stage', value: pipeline2Rate },
    { label: 'pipeline, one process', value: inProcessRate },
    ...(langchainRate ? [{ label: 'LangChain index()', value: langchainRate }] : []),
    ...(corpus ? [{ label: 'direct (redis-docs)', value: corpus.direct_docs_per_s }, { label: 'pipeline (redis-docs)', value: corpus.pipeline_docs_per_s }] : []),
    ...(corpus?.langchain_docs_per_s ? [{ label: 'LangChain (redis-docs)', value: corpus.langchain_docs_per_s }] : []),
  ]);
  const lc = result.langchain;
  const lcRows = lcUnavailable ? [`| pipeline ÷ LangChain.js | not measured: ${lcUnavailable} |`] : [
    `| pipeline ÷ LangChain.js index() (redis-docs / synthetic) | **${corpus?.pipeline_vs_langchain?.toFixed(3) ?? '-'}** / **${result.ratios.pipeline_vs_langchain_synthetic!.toFixed(3)}** (research R2: floor ≥ 0.12, target ≥ 0.40 with a hashing embedder) |`,
    `| docs/s LangChain.js index() (synthetic / redis-docs) | ${langchainRate!.toFixed(1)} / ${corpus?.langchain_docs_per_s?.toFixed(1) ?? '-'}; chunks per doc ${lc.chunks_per_doc.synthetic?.toFixed(1)} / ${lc.chunks_per_doc.redis_docs?.toFixed(1) ?? '-'} |`,
    `| second run, nothing changed (synthetic, ${secondRun.docs} docs) | pipeline ${secondRun.pipeline.seconds.toFixed(2)} s (${secondRun.pipeline.skipped} SKIPPED at admission); LangChain index() ${secondRun.langchain!.seconds.toFixed(2)} s (${secondRun.langchain!.skipped} of ${secondRun.langchain!.chunks} chunks skipped, ${secondRun.langchain!.re_added} deleted and re-added) |`,
    ...(secondRun.langchain_redis_docs ? [`| LangChain index() second run on redis-docs | ${secondRun.langchain_redis_docs.seconds.toFixed(2)} s (${secondRun.langchain_redis_docs.skipped} of ${secondRun.langchain_redis_docs.chunks} chunks skipped, ${secondRun.langchain_redis_docs.re_added} deleted and re-added) |`] : []),
  ];
  await writeFile(path.join(dir, `${stamp}.svg`), svg);
  await writeFile(path.join(dir, `${stamp}.md`), [
    `# Benchmark ${result.generated_at}`, '', `![docs per second](${stamp}.svg)`, '',
    `| measure | value |`, `|---|---|`,
    `| pipeline ÷ direct | **${result.ratios.pipeline_vs_direct.toFixed(2)}** (target ≥ 0.8) |`,
    `| docs/s direct / pipeline (synthetic ${SYNTHETIC} × ~5 KB) | ${directRate.toFixed(1)} / ${pipelineRate.toFixed(1)} |`,
    corpus ? `| docs/s direct / pipeline (redis-docs, ${corpus.docs} files) | ${corpus.direct_docs_per_s.toFixed(1)} / ${corpus.pipeline_docs_per_s.toFixed(1)} |` : '| redis-docs | not present |',
    `| drop-to-searchable at half load p50 / p95 | ${result.latency_ms.p50} / ${result.latency_ms.p95} ms after ${WARMUP_DOCS} warm-up documents (target p95 ≤ 250 ms); from a cold start ${result.latency_ms.including_cold_start.p50} / ${result.latency_ms.including_cold_start.p95} ms |`,
    `| 3 MB document | median ${big.seconds.toFixed(2)} s (runs ${big.runs_seconds.join(', ')} s), ${big.status}, highest peak RSS ${bigRss} |`,
    `| Redis commands per document (pipeline / direct) | ${result.redis_commands_per_doc.toFixed(0)} / ${result.redis_commands_per_doc_direct.toFixed(0)} |`,
    `| scaling efficiency ((c)÷(b)) ÷ (direct×2 ÷ direct) | **${result.ratios.scaling_efficiency.toFixed(2)}** (target ≥ 0.9) |`,
    `| docs/s: direct×2 processes / pipeline 2 per stage / pipeline in one process | ${direct2Rate.toFixed(1)} / ${pipeline2Rate.toFixed(1)} / ${inProcessRate.toFixed(1)} |`,
    ...lcRows,
    '', `Machine: ${result.machine.cpus} × ${result.machine.cpu_model}, ${result.machine.memory_gb} GB; Node ${process.version}; MALLOC_ARENA_MAX ${result.machine.malloc_arena_max ?? 'unset'} (scripts/ingestctl sets 3 unless told otherwise; \`npm run bench\` does the same). Yardstick (${result.machine.yardstick_ms.what}): ${result.machine.yardstick_ms.start} ms at the start, ${result.machine.yardstick_ms.end} ms at the end. ${result.method}. The whole benchmark took ${result.bench_seconds} s.`, '',
    ...(lcUnavailable ? [] : [`LangChain.js baseline: ${lc.setup}.`, '',
      'Re-added chunks on an unchanged rerun: index() runs incremental cleanup after each batch of 100 chunks, so a document whose chunks straddle a batch boundary has its later chunks deleted as stale and embedded again (langchain-ai/langchain#32612; the same loop in @langchain/core).', '']),
  ].join('\n'));
  process.stdout.write(`${JSON.stringify({ ratios: result.ratios, docs_per_s: result.docs_per_s, second_run: result.second_run, latency_ms: result.latency_ms, big_doc: result.big_doc, redis_commands_per_doc: result.redis_commands_per_doc, report: path.join(dir, `${stamp}.md`) }, null, 2)}\n`);
} finally {
  await redis.stop();
  await rm(redisDir, { recursive: true, force: true });
}
process.exit(0);
