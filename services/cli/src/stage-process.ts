// One compute stage as its own process (`ingestctl up --processes`): parse, extract or embed, with the
// stores read through the API of the process that owns them. Process title: ingest-<stage>.
import { apiVectorReader, loadConfig, openRuntime, unavailableGraphStore } from '@ingest/shared';
import { startParseWorker } from '@ingest/parse';
import { startExtractWorker } from '@ingest/extract';
import { startEmbedWorker } from '@ingest/embed';
import { stopWithParent } from './child-lifecycle.js';

const STARTERS = { parse: startParseWorker, extract: startExtractWorker, embed: startEmbedWorker } as const;
const stage = process.argv[2] as keyof typeof STARTERS;
const start = STARTERS[stage];
if (!start) {
  process.stderr.write(`stage-process: unknown compute stage ${JSON.stringify(process.argv[2])}\n`);
  process.exit(2);
}
process.title = `ingest-${stage}`;
const apiUrl = process.env.INGEST_URL;
const token = process.env.INGEST_DASHBOARD_TOKEN;
if (!apiUrl || !token) throw new Error('CONFIG: a stage process needs INGEST_URL and INGEST_DASHBOARD_TOKEN');

const config = loadConfig();
const rt = await openRuntime(config, `ingest-${stage}`, undefined, {
  stores: { graph: unavailableGraphStore(), vectors: apiVectorReader(apiUrl, token, config.embedder.dimensions) },
});
const { worker, close } = start(rt);
// Tests only (chaos suite): this process dies (SIGKILL, no cleanup) whenever it takes a job whose source
// URI contains INGEST_TEST_CRASH_ON — "a document that crashes its worker every time".
const crashOn = process.env.INGEST_TEST_CRASH_ON;
if (crashOn) {
  worker.on('active', (job) => {
    // A job BullMQ is about to fail for its stall count never reaches the processor: no crash then.
    // It dies once the stage has taken the job (as a parser crashing mid-document would), so the dead
    // letter's first_seen is the first death's; one round trip, before the processor's own two.
    const data = job.data as { sourceUri?: string; jobId?: string };
    if (!job.deferredFailure && data.sourceUri?.includes(crashOn)) {
      void rt.pipeline.state.stageTaken(data.jobId ?? '', stage).finally(() => process.kill(process.pid, 'SIGKILL'));
    }
  });
}
void worker.run();
rt.logger.info('stage process started', { stage, pid: process.pid });

// Stops on SIGTERM, or when `ingestctl up` goes away, rather than run on as an orphan whose API is gone.
stopWithParent(async () => {
  await close();
  await rt.close();
});
