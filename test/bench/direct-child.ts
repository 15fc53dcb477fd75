// A direct run in its own process (documents on stdin as JSON); prints the RunResult.
import { runDirect } from './runners.js';
import type { BenchDoc } from './corpus.js';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const docs = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BenchDoc[];
process.stdout.write(JSON.stringify(await runDirect(docs, process.argv[2]!, Number(process.argv[3]))));
process.exit(0);
