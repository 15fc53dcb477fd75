import { expect } from 'chai';
import { LadybugGraphStore } from '../../src/adapters/graph/ladybug-graph-store.js';
import { PermanentError } from '../../src/errors/errors.js';
import { buildVersion, expectedCounts, graphStoreContract } from './graph-store.contract.js';
import { LADYBUG_TEST_OPTIONS, ladybugTestDirs } from './ladybug-test-dirs.js';

const OPTIONS = LADYBUG_TEST_OPTIONS;
const { fresh: freshDir, removeAll: removeDirs } = ladybugTestDirs('ladybug-graph-');

graphStoreContract('ladybug', () => LadybugGraphStore.open(freshDir(), OPTIONS), removeDirs);

describe('LadybugGraphStore', () => {
  let dir: string;
  let store: LadybugGraphStore;
  const v = (n: number, generation: number, commands: string[] = ['redis-cli']) =>
    buildVersion({ tag: 'lb', uri: `cli://lb/${n}.md`, generation, sections: [{ path: ['A'], commands }, { path: ['A', 'B'] }] });

  beforeEach(async () => {
    dir = freshDir();
    store = await LadybugGraphStore.open(dir, OPTIONS);
  });
  afterEach(async () => {
    await store?.close();
    await removeDirs();
  });

  it('creates the schema idempotently and keeps data across reopen', async () => {
    expect(store.kind).to.equal('ladybug');
    await store.writeVersion(v(1, 1));
    await store.close();
    store = await LadybugGraphStore.open(dir, OPTIONS);
    expect(await store.counts(v(1, 1).document.id)).to.deep.equal(expectedCounts(v(1, 1)));
  });

  it('refuses a second store on the same directory in one process, allows it after close', async () => {
    const error = await LadybugGraphStore.open(dir).then((s) => s, (e: unknown) => e);
    expect(error).to.be.instanceOf(PermanentError);
    await store.close();
    await store.close(); // idempotent
    store = await LadybugGraphStore.open(dir, OPTIONS);
    expect((await store.counts()).documents).to.equal(0);
  });

  it('rejects calls after close', async () => {
    await store.close();
    const error = await store.counts().then(() => null, (e: unknown) => e);
    expect(String(error)).to.match(/STORE_CLOSED/);
  });

  it('answers queued lower generations applied=false in FIFO order', async () => {
    const [r3, r1, r2] = await Promise.all([store.writeVersion(v(1, 3)), store.writeVersion(v(1, 1)), store.writeVersion(v(1, 2))]);
    expect([r3!.applied, r1!.applied, r2!.applied]).to.deep.equal([true, false, false]);
    // the same generation offered twice in one batch is the same version: both applied
    const [a, b] = await Promise.all([store.counts(), store.writeVersion(v(2, 1)), store.writeVersion(v(2, 1))]).then((r) => r.slice(1));
    expect(a).to.deep.include({ applied: true, sectionsWritten: 2 });
    expect(b).to.deep.equal(a);
  });

  it('lets the highest generation of one document win inside a batch, whatever the order', async () => {
    const blocker = store.counts(); // keeps the writer busy so the next writes are one batch
    const [r2, r1] = await Promise.all([store.writeVersion(v(5, 2, ['two'])), store.writeVersion(v(5, 1, ['one']))]);
    await blocker;
    expect([r2!.applied, r1!.applied]).to.deep.equal([true, false]);
    expect((await store.getDocument(v(5, 2).document.id))?.generation).to.equal(2);
    expect([...(await store.mentionsOf(v(5, 2).sections[0]!.id)).keys()]).to.deep.equal([v(5, 2, ['two']).entities[0]!.id]);
  });

  it('rolls back a failed transaction, fails only the bad job of a batch and stays usable', async () => {
    const good = v(1, 1);
    await store.writeVersion(good);
    // A version of another document claiming good's section id: the FROM_DOCUMENT edge (MANY_ONE) breaks
    // inside the transaction, after the document row was already upserted.
    const thief = buildVersion({ tag: 'lb', uri: 'cli://lb/thief.md', generation: 1, sections: [{ path: ['T'] }] });
    const stolen = { ...thief, sections: [{ ...thief.sections[0]!, id: good.sections[0]!.id }], mentions: [], references: [] };
    const others = [v(2, 1), v(3, 1)];
    const blocker = store.counts(); // keeps the writer busy so the next three are one batch
    const outcomes = await Promise.allSettled([store.writeVersion(stolen), ...others.map((o) => store.writeVersion(o))]);
    await blocker;
    expect(outcomes[0]!.status).to.equal('rejected');
    const reason = (outcomes[0] as PromiseRejectedResult).reason as PermanentError;
    expect(reason).to.be.instanceOf(PermanentError); // a constraint violation will not pass on retry
    expect(reason.code).to.equal('STORE_WRITE_FAILED');
    expect(outcomes.slice(1).map((o) => o.status)).to.deep.equal(['fulfilled', 'fulfilled']);
    expect(await store.getDocument(thief.document.id)).to.equal(null); // nothing of the failed job stayed
    for (const o of [good, ...others]) expect(await store.counts(o.document.id)).to.deep.equal(expectedCounts(o));
    await store.writeVersion(v(4, 1));
    expect((await store.listDocuments('lb')).length).to.equal(4);
  });

  it('rejects inconsistent versions before they reach a batch', async () => {
    const base = v(1, 1);
    const cases = [
      { ...base, mentions: [{ sectionId: 'nope', entityId: base.entities[0]!.id, count: 1 }] },
      { ...base, mentions: [{ sectionId: base.sections[0]!.id, entityId: 'nope', count: 1 }] },
      { ...base, sections: [base.sections[0]!, base.sections[0]!] },
      { ...base, document: { ...base.document, generation: 1.5 } },
      { ...base, steps: [{ procedureId: base.entities[0]!.id, stepId: base.entities[0]!.id, order: 1 }] },
    ];
    for (const bad of cases) {
      const error = await store.writeVersion(bad).then(() => null, (e: unknown) => e);
      expect(error).to.be.instanceOf(PermanentError);
      expect((error as PermanentError).code).to.equal('PAYLOAD_INVALID');
    }
    expect((await store.counts()).documents).to.equal(0);
  });

  it('markCompleted never lowers completed_generation and needs the document', async () => {
    await store.writeVersion(v(1, 2));
    await store.markCompleted(v(1, 2).document.id, 2, 'pv-2');
    await store.markCompleted(v(1, 2).document.id, 1, 'pv-1');
    expect(await store.getDocument(v(1, 2).document.id)).to.include({ completedGeneration: 2, pipelineVersion: 'pv-2' });
    const error = await store.markCompleted(v(9, 1).document.id, 1, 'pv').then(() => null, (e: unknown) => e);
    expect((error as PermanentError).code).to.equal('NOT_FOUND');
  });

  it('ingests 477 documents concurrently, briskly', async function () {
    this.timeout(120_000);
    const docs = Array.from({ length: 477 }, (_, i) =>
      buildVersion({
        tag: 'bulk',
        uri: `cli://bulk/${i}.md`,
        generation: 1,
        sections: Array.from({ length: 12 }, (_, s) => ({
          path: s === 0 ? ['Top'] : ['Top', `S${s}`],
          commands: ['redis-cli', `cmd-${(i * 7 + s) % 300}`, `cmd-${s}`],
          parameters: [`--opt-${s}`, `KEY_${i % 50}`],
          ...(s % 4 === 1 ? { procedure: { name: `Proc ${s}`, steps: ['one', 'two', 'three'] } } : {}),
        })),
      }),
    );
    const started = performance.now();
    const results = await Promise.all(docs.map((d) => store.writeVersion(d)));
    const ms = performance.now() - started;
    expect(results.every((r) => r.applied)).to.equal(true);
    const total = await store.counts();
    expect(total).to.deep.include({ documents: 477, sections: 477 * 12, mentions: docs.reduce((a, d) => a + d.mentions.length, 0) });
    expect(ms, `477 documents took ${Math.round(ms)} ms`).to.be.below(30_000);
  });

  it('answers reads on their own connections while a write transaction is running', async () => {
    const small = v(1, 1);
    await store.writeVersion(small);
    const big = buildVersion({
      tag: 'lb', uri: 'cli://lb/big.md', generation: 1,
      sections: Array.from({ length: 4000 }, (_, i) => ({ path: [`S${i}`], commands: [`cmd-${i % 50}`] })),
    });
    const order: string[] = [];
    const write = store.writeVersion(big).then(() => order.push('write'));
    // Queued behind the big write on the writer, these reads would resolve after it.
    const reads = Promise.all([store.sectionHashes(small.document.id), store.getDocument(small.document.id), store.counts(small.document.id)])
      .then((r) => { order.push('reads'); return r; });
    const [hashes, doc, counts] = await reads;
    await write;
    expect(order).to.deep.equal(['reads', 'write']);
    expect(hashes).to.have.length(small.sections.length);
    expect(doc?.id).to.equal(small.document.id);
    expect(counts).to.deep.equal(expectedCounts(small));
    expect((await store.sectionHashes(big.document.id)).length, 'the write is visible once committed').to.equal(4000);
  });
});
