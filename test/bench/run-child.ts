// One benchmark run in a process of its own (see isolated.ts): a RunRequest as JSON on stdin, an IPC
// channel to the parent; prints the run's result as JSON on stdout.
import { runDirect, runPipeline } from './runners.js';
import { runLangChain } from './langchain.js';
import { runPipelineRerun } from './rerun.js';
import type { RunRequest } from './isolated.js';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunRequest;
// Warm, it tells the parent and waits for its go (sent when every process of a joint run is warm).
const go = () => new Promise<void>((resolve) => {
  process.once('message', () => resolve());
  process.send!('ready');
});

let result: unknown;
switch (request.mode) {
  case 'direct':
    result = await runDirect(request.docs, request.redisUrl, request.inFlight, request.warmup, request.synchronised ? go : undefined);
    break;
  case 'pipeline':
    result = await runPipeline(request.docs, request.redisUrl, request.ratePerSecond, request.computeProcesses, request.warmup);
    break;
  case 'langchain':
    // The pipeline and direct runs take warm-up documents first; so does the baseline (JIT, LanceDB's and
    // the PostgreSQL pool's first statements), in a run of its own that is not counted.
    if (request.warmup.length > 0) await runLangChain(request.warmup, request.options);
    result = await runLangChain(request.docs, request.options);
    break;
  case 'rerun':
    result = await runPipelineRerun(request.docs, request.redisUrl);
    break;
}
process.disconnect();
process.stdout.write(JSON.stringify(result));
process.exit(0);
