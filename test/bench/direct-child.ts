// A direct run in its own process ({docs, warmup} on stdin as JSON, an IPC channel to the parent); prints the RunResult.
import { runDirect } from './runners.js';
import type { BenchDoc } from './corpus.js';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const { docs, warmup } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { docs: BenchDoc[]; warmup: BenchDoc[] };
// Warm, it tells the parent and waits for its go (sent when the other direct process is warm too).
const go = () => new Promise<void>((resolve) => {
  process.once('message', () => resolve());
  process.send!('ready');
});
const result = await runDirect(docs, process.argv[2]!, Number(process.argv[3]), warmup, go);
process.disconnect();
process.stdout.write(JSON.stringify(result));
process.exit(0);
