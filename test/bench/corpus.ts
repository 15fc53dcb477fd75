import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** A seeded PRNG (mulberry32): the synthetic corpus is the same on every run and machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ('redis server client cluster replica primary persistence snapshot append only file memory eviction policy key ' +
  'value stream consumer group latency throughput configure enable disable restart failover sentinel shard slot hash set list sorted ' +
  'module script function transaction pipeline connection timeout buffer command option parameter default example output').split(' ');

/**
 * Documents every timed run takes first and does not count (JIT, the stores' first statements: a system
 * that has run a while has paid them), and their seed. V8 optimises per isolate, and every parse thread and
 * compute process is one: a parse thread spent 8.2-9.4 ms of CPU per synthetic document after 5-25
 * documents, 6.1-7.8 after 100 and 4.0-5.7 after 400. With 20 warm-up documents the four parse threads of
 * two processes per stage had seen 5 each, so the runs with more processes measured mostly the JIT's
 * warm-up. 100 is what a round can afford; it is still short of a long-running system's steady state.
 */
export const WARMUP_DOCS = 100;
export const WARMUP_SEED = 4242;

export interface BenchDoc {
  readonly name: string;
  readonly text: string;
}

/** ~5 KB Markdown documents with headings, paragraphs, code, tables, lists and links (DESIGN §14). */
export function syntheticCorpus(count: number, seed = 42): BenchDoc[] {
  const r = rng(seed);
  const word = () => WORDS[Math.floor(r() * WORDS.length)]!;
  const sentence = (n: number) => Array.from({ length: n }, word).join(' ');
  const para = () => `${sentence(12 + Math.floor(r() * 20))}. ${sentence(10 + Math.floor(r() * 15))}.`;
  return Array.from({ length: count }, (_, i) => {
    const parts: string[] = [`---\ntitle: Synthetic guide ${i} ${word()} ${word()}\n---\n`, `# Synthetic guide ${i}\n\n${para()}\n`];
    while (parts.join('\n').length < 5000) {
      const k = Math.floor(r() * 5);
      const h = `## ${word()} ${word()} ${parts.length}`;
      if (k === 0) parts.push(`${h}\n\n${para()}\n\n\`\`\`sh\nredis-cli CONFIG SET ${word()} ${word()}\nredis-server --port ${6000 + i}\n\`\`\`\n`);
      else if (k === 1) parts.push(`${h}\n\n| Parameter | Description |\n|---|---|\n| ${word()}-${word()} | ${sentence(6)} |\n| ${word()} | ${sentence(5)} |\n`);
      else if (k === 2) parts.push(`${h}\n\n1. ${sentence(6)}\n2. ${sentence(7)}\n3. Run \`redis-cli PING\`\n`);
      else if (k === 3) parts.push(`${h}\n\n${para()} See [guide ${(i + 1) % count}](guide-${(i + 1) % count}.md) and [that part](#${word()}).\n`);
      else parts.push(`### ${word()} ${word()} ${parts.length}\n\n${para()}\n\n${para()}\n`);
    }
    return { name: `guide-${i}.md`, text: parts.join('\n') };
  });
}

/** One document of about `bytes`, many sections (the 3 MB case of DESIGN §14). */
export function bigDocument(bytes: number, seed = 7): string {
  const docs = syntheticCorpus(Math.ceil(bytes / 5000), seed);
  return `# Big document\n\n${docs.map((d) => d.text.replace(/^---[\s\S]*?---\n/, '').replace(/^# /gm, '## ')).join('\n')}`.slice(0, bytes);
}

export async function redisDocsCorpus(root: string): Promise<BenchDoc[] | null> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => null);
  if (!entries) return null;
  const files = entries.filter((e) => e.isFile() && e.name.endsWith('.md')).map((e) => path.join(e.parentPath, e.name)).sort();
  return Promise.all(files.map(async (f) => ({ name: path.relative(root, f), text: await readFile(f, 'utf8') })));
}
