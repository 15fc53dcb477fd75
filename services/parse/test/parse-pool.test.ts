import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { closeParsePools, parseInWorker, parseMarkdown, ParsePool } from '../src/index.js';
import { PermanentError } from '../src/shared.js';
import { segmentCuts } from '../src/segments.js';

const opts = { documentId: 'doc-1', sourceUri: 'file:///docs/pool.md' };
const sample = '---\ntitle: Pool\n---\n# A\n\nText with `redis-cli`.\n\n## B\n\n- one\n- two\n';

/** ~1.1 MB with 3,000 sections (by default): fine in 64 KB segments, hundreds of MB of mdast when parsed whole. */
function bigDoc(n = 3000): string {
  const section = (i: number): string =>
    `## Section ${i}\n\n${'word '.repeat(60)}[link](x${i}.md) **bold** \`code\`\n\n- a\n- b\n  - c\n\n`;
  return Array.from({ length: n }, (_, i) => section(i)).join('');
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('parse: worker-thread pool', function () {
  this.timeout(120_000);
  let pool: ParsePool;

  before(async () => {
    pool = new ParsePool({ size: 2, timeoutMs: 30_000 });
    await pool.ready();
  });
  after(async () => {
    await pool.close();
    await closeParsePools();
  });

  it('loads the .ts worker under tsx and returns what parseMarkdown returns', async () => {
    expect(await pool.parse(sample, opts)).to.deep.equal(parseMarkdown(sample, opts));
  });

  it('runs jobs concurrently on warm threads and keeps them (no respawn per job)', async () => {
    const before = pool.spawned;
    const docs = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.parse(`# Doc ${i}\n\nbody`, opts)));
    expect(docs.map((d) => d.title)).to.deep.equal(Array.from({ length: 8 }, (_, i) => `Doc ${i}`));
    expect(pool.spawned).to.equal(before);
  });

  it('parses a 5 KB document in a few milliseconds once warm', async () => {
    // A typical documentation page: mostly prose, a list, a code block, a table.
    const prose = 'Redis keeps the whole dataset in memory and persists it to disk with snapshots or an append-only file, so a restart loses little or nothing. ';
    const five = [
      '# Persistence',
      `${prose.repeat(4)}See [the AOF section](#aof) for details.`,
      '## Snapshots',
      `${prose.repeat(8)}`,
      '- `save 900 1` after 900 s if one key changed\n- `save 300 10` after 300 s if ten keys changed',
      '```sh\nredis-cli CONFIG SET save "900 1"\n```',
      '## AOF',
      `${prose.repeat(9)}`,
      '| Parameter | Description |\n|---|---|\n| `appendonly` | turn the AOF on |\n| `appendfsync` | fsync policy |',
      `${prose.repeat(9)}`,
    ].join('\n\n');
    expect(Buffer.byteLength(five)).to.be.within(4500, 5500);
    for (let i = 0; i < 20; i++) await pool.parse(five, opts); // warm the JIT in the threads
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) await pool.parse(five, opts);
    const perDoc = (performance.now() - t0) / 50;
    // A few ms of parse work plus the thread hop; the bound is loose so a loaded CI box does not flake.
    expect(perDoc).to.be.below(15);
    const inline = performance.now();
    for (let i = 0; i < 50; i++) parseMarkdown(five, opts);
    console.log(`      5 KB: ${perDoc.toFixed(2)} ms via the pool, ${((performance.now() - inline) / 50).toFixed(2)} ms inline`);
  });

  it('parses a big document on two threads at once (halves of its segments), with exactly parseMarkdown\'s answer', async () => {
    const chapter = (i: number) => `# Chapter ${i}\n\nSee [the index][idx] and [inline](c${i}.md).\n\n## Setup\n\n${'word '.repeat(40)}\n\n\`\`\`sh\nredis-cli -p ${i}\n\`\`\`\n\n`;
    const doc = Array.from({ length: 40 }, (_, i) => chapter(i)).join('') + '[idx]: /index.md\n';
    const small = { ...opts, segmentBytes: 512 }; // > 8 segments: the split path
    const before = { ...pool.splits };
    expect(await pool.parse(doc, small)).to.deep.equal(parseMarkdown(doc, small));
    expect(pool.splits.halves).to.equal(before.halves + 1);
    expect(pool.splits.oneRange).to.equal(before.oneRange);
    // The reference at the top resolves through the definition parsed by the other thread.
    expect((await pool.parse(doc, small)).links.filter((l) => l.url === '/index.md')).to.have.length(40);
  });

  it('with splitBigDocuments off, parses a big document on one thread, with exactly parseMarkdown\'s answer', async () => {
    const chapter = (i: number) => `# Chapter ${i}\n\nSee [the index][idx] and [inline](c${i}.md).\n\n## Setup\n\n${'word '.repeat(40)}\n\n`;
    const doc = Array.from({ length: 40 }, (_, i) => chapter(i)).join('') + '[idx]: /index.md\n';
    const small = { ...opts, segmentBytes: 512 };
    const whole = new ParsePool({ size: 2, splitBigDocuments: false });
    try {
      expect(await whole.parse(doc, small)).to.deep.equal(parseMarkdown(doc, small));
      expect(whole.splits.halves).to.equal(0);
    } finally {
      await whole.close();
    }
  });

  it('keeps warmThreads running, starts more while jobs wait, and stops them once idle', async () => {
    const lazy = new ParsePool({ size: 2, warmThreads: 1, idleMs: 100 });
    try {
      await lazy.ready();
      expect([lazy.threads, lazy.spawned]).to.deep.equal([1, 1]);
      const docs = await Promise.all(Array.from({ length: 6 }, (_, i) => lazy.parse(`# Doc ${i}\n\nbody`, opts)));
      expect(docs.map((d) => d.title)).to.deep.equal(Array.from({ length: 6 }, (_, i) => `Doc ${i}`));
      expect(lazy.spawned).to.equal(2);
      for (let waited = 0; lazy.threads > 1 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      expect(lazy.threads).to.equal(1);
      expect((await lazy.parse(sample, opts)).title).to.equal('Pool');
      expect(lazy.spawned).to.equal(2); // one job at a time needs no second thread
    } finally {
      await lazy.close();
    }
  });

  it('renders a big document in one range when the first half ends inside a fence the cutter misread', async () => {
    // Every chapter carries a fence whose over-indented "closer" fools the cutter, so pieces end open.
    const chapter = (i: number) => `# Chapter ${i}\n\n${'word '.repeat(40)}\n\n\`\`\`\ncode\n      \`\`\`\n# not a heading ${i}\n\`\`\`\n\n`;
    const doc = Array.from({ length: 62 }, (_, i) => chapter(i)).join('');
    const small = { ...opts, segmentBytes: 300 };
    // Precondition: the pool's seam (the middle cut) is one of the misread ones.
    const bounds = [0, ...segmentCuts(doc, 300), doc.length];
    expect(doc.slice(bounds[Math.ceil(bounds.length / 2) - 1])).to.match(/^# not a heading/);
    const before = { ...pool.splits };
    expect(await pool.parse(doc, small)).to.deep.equal(parseMarkdown(doc, small));
    expect(pool.splits.halves).to.equal(before.halves + 1);
    expect(pool.splits.oneRange).to.equal(before.oneRange + 1);
  });

  it('terminates and replaces a thread on timeout, rejecting with PARSE_TIMEOUT', async () => {
    const before = pool.spawned;
    const e = await rejection(pool.parse(bigDoc(), opts, { timeoutMs: 5 }));
    expect(e).to.be.instanceOf(PermanentError);
    expect((e as PermanentError).code).to.equal('PARSE_TIMEOUT');
    expect(e.message).to.match(/5 ms/);
    expect(pool.spawned).to.equal(before + 1);
    expect((await pool.parse(sample, opts)).title).to.equal('Pool');
  });

  it('re-creates PermanentErrors thrown in the worker with their code', async () => {
    const deep = await rejection(pool.parse('> '.repeat(200) + 'a', opts));
    expect(deep).to.be.instanceOf(PermanentError);
    expect((deep as PermanentError).code).to.equal('TOO_DEEP');
    const fm = await rejection(pool.parse('---\nbad: [\n---\nx', opts));
    expect(fm).to.be.instanceOf(PermanentError);
    expect((fm as PermanentError).code).to.equal('BAD_FRONT_MATTER');
    expect((await pool.parse(sample, opts)).title).to.equal('Pool');
  });

  it('aborts a running job through its signal and keeps serving', async () => {
    const ac = new AbortController();
    const p = pool.parse(bigDoc(), opts, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('cancelled by test')), 20);
    expect((await rejection(p)).message).to.equal('cancelled by test');
    expect((await pool.parse(sample, opts)).title).to.equal('Pool');
  });

  it('a thread killed by its heap limit rejects with PARSE_TIMEOUT (memory) and is replaced', async () => {
    const small = new ParsePool({ size: 1, maxOldGenerationSizeMb: 48, timeoutMs: 60_000 });
    try {
      const big = bigDoc();
      const e = await rejection(small.parse(big, { ...opts, segmentBytes: Infinity }));
      expect(e).to.be.instanceOf(PermanentError);
      expect((e as PermanentError).code).to.equal('PARSE_TIMEOUT');
      expect(e.message).to.match(/memory limit \(48 MB/);
      // The same document in 64 KB segments fits in the same heap.
      const doc = await small.parse(big, opts);
      expect(doc.sections).to.have.length(3000);
      expect(small.spawned).to.equal(2);
    } finally {
      await small.close();
    }
  });

  it('rejects waiting and new jobs once closed', async () => {
    const p = new ParsePool({ size: 1 });
    const pending = rejection(p.parse(sample, opts));
    await p.close();
    expect((await pending).message).to.match(/closed/);
    expect((await rejection(p.parse(sample, opts))).message).to.match(/closed/);
  });

  it('parseInWorker shares a warm pool per memory limit and applies the per-call timeout', async () => {
    const limits = { timeoutMs: 30_000, maxOldGenerationSizeMb: 256 };
    expect((await parseInWorker(sample, opts, limits)).title).to.equal('Pool');
    const e = await rejection(parseInWorker(bigDoc(), opts, { ...limits, timeoutMs: 5 }));
    expect((e as PermanentError).code).to.equal('PARSE_TIMEOUT');
    expect((await parseInWorker(sample, opts, limits)).sections).to.have.length(2);
  });

  it('a thread gets the young generation it asks for in a process started with 4 MB semi-spaces; the main thread keeps them', async () => {
    // The compute processes start with --max-semi-space-size=4 (stage-children.ts). That flag overrode every
    // thread's resourceLimits, and the 3 MB document parsed a third slower in a 12 MB nursery.
    const probe = fileURLToPath(new URL('./fixtures/nursery-probe.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=4', '--import', 'tsx', probe]);
    const mb = JSON.parse(stdout) as { before: number; after: number; main: number };
    expect(mb.before, 'a thread started before any pool: the flag still holds').to.be.at.most(10);
    expect(mb.after, 'a thread started after the pool: 2 x 16 MB semi-spaces').to.be.at.least(24);
    expect(mb.main, 'the main thread').to.be.at.most(12);
  });
});
