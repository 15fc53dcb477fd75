/**
 * LanceDB vector store: the VectorStore contract on a fresh temp dir, plus what is LanceDB's own —
 * persistence across reopen, the dimension check on open, full-text index freshness, and the throughput
 * the embedded default needs (DESIGN §14).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { expect } from 'chai';
import { HashEmbedder } from '../../src/adapters/embedder/hash-embedder.js';
import { StoredIds } from '../../src/adapters/vector/lancedb-stored-ids.js';
import { optimizeCostMs } from '../../src/adapters/vector/lancedb-writer.js';
import { ftsTerms, LanceVectorStore, sqlString } from '../../src/adapters/vector/lancedb-vector-store.js';
import { PipelineError } from '../../src/errors/errors.js';
import { axisVector, point, vectorStoreContract } from './vector-store.contract.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lancedb-contract-'));
  dirs.push(dir);
  return dir;
}

after(async function () {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

vectorStoreContract('lancedb', async () => LanceVectorStore.open(await freshDir(), 16));

/**
 * The store's real table with its optimize held at a gate, so a test decides when it may go on: `started`
 * settles when an optimize begins, `open()` lets it run, `onOptimized` is called after each one.
 */
function holdOptimizes(store: LanceVectorStore, onOptimized: () => void = () => undefined) {
  const table = (store as unknown as { table: lancedb.Table }).table;
  const optimize = table.optimize.bind(table);
  let open = (): void => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let optimizeStarted!: () => void;
  const started = new Promise<void>((resolve) => (optimizeStarted = resolve));
  table.optimize = async (options) => {
    optimizeStarted();
    await gate;
    const stats = await optimize(options);
    onOptimized();
    return stats;
  };
  return { table, started, open: () => open() };
}

/** The table through a second connection (tests only; the store owns writes), closed after `use`. */
async function withTable<T>(dir: string, use: (table: lancedb.Table) => Promise<T>): Promise<T> {
  const db = await lancedb.connect(dir);
  try {
    const table = await db.openTable('sections');
    try {
      return await use(table);
    } finally {
      table.close();
    }
  } finally {
    db.close();
  }
}

/** Full-text index statistics seen through a second connection. */
async function ftsStats(dir: string): Promise<{ numIndexedRows: number; numUnindexedRows: number }> {
  const stats = await withTable(dir, (table) => table.indexStats('search_text_idx'));
  if (!stats) throw new Error('no full-text index');
  return stats;
}

describe('LanceVectorStore (lancedb specifics)', function () {
  const tag = 'lance';

  it('keeps points, payload and the full-text index across close and reopen', async function () {
    const dir = await freshDir();
    const doc = randomUUID();
    const store = await LanceVectorStore.open(dir, 16);
    expect(store.kind).to.equal('lancedb');
    expect(store.dimensions).to.equal(16);
    const p = point({ documentId: doc, tag, title: 'Sentinel', text: 'Sentinel monitors the primary.', vector: axisVector(16, 3) });
    await store.upsert([p]);
    await store.close();
    await store.close(); // idempotent

    const again = await LanceVectorStore.open(dir, 16);
    try {
      expect(await again.count(doc)).to.equal(1);
      expect((await again.searchText('sentinel', { limit: 1 }))[0]!.id).to.equal(p.id);
      expect((await again.searchVector(axisVector(16, 3), { limit: 1 }))[0]!.headingPath).to.deep.equal(p.headingPath);
    } finally {
      await again.close();
    }
  });

  it('keeps scalar indexes on document_id, id and tag beside the full-text one, and adds them to a store made without', async function () {
    const dir = await freshDir();
    const indexed = () => withTable(dir, async (table) => ({
      indices: (await table.listIndices()).map((i) => `${i.columns.join(',')} ${i.indexType}`).sort(),
      documentIdIndexed: (await table.indexStats('document_id_idx'))?.numIndexedRows ?? null,
    }));
    const first = await LanceVectorStore.open(dir, 16);
    await first.upsert([point({ documentId: randomUUID(), tag, vector: axisVector(16, 1) }), point({ documentId: randomUUID(), tag, vector: axisVector(16, 2) })]);
    await first.close(); // close optimizes: the rows are folded into every index
    const made = await indexed();
    expect(made.indices).to.deep.equal(['document_id BTree', 'id BTree', 'search_text FTS', 'tag Bitmap']);
    expect(made.documentIdIndexed).to.equal(2);

    // A store from before: only the full-text index. Its next open adds the others.
    await withTable(dir, async (table) => {
      for (const name of ['document_id_idx', 'id_idx', 'tag_idx']) await table.dropIndex(name);
    });
    expect((await indexed()).indices).to.deep.equal(['search_text FTS']);
    await (await LanceVectorStore.open(dir, 16)).close();
    expect((await indexed()).indices).to.deep.equal(made.indices);
  });

  it('refuses to open a store made for other dimensions', async function () {
    const dir = await freshDir();
    await (await LanceVectorStore.open(dir, 16)).close();
    try {
      await LanceVectorStore.open(dir, 32);
      expect.fail('opened a 16-dimensional store as 32-dimensional');
    } catch (error) {
      expect(error).to.be.instanceOf(PipelineError);
      expect((error as PipelineError).code).to.equal('BAD_EMBEDDING');
    }
  });

  it('rejects calls after close', async function () {
    const store = await LanceVectorStore.open(await freshDir(), 16);
    await store.close();
    try {
      await store.upsert([point({ documentId: randomUUID(), tag, vector: axisVector(16, 0) })]);
      expect.fail('upsert after close resolved');
    } catch (error) {
      expect((error as PipelineError).code).to.equal('STORE_UNAVAILABLE');
    }
  });

  it('refreshes the full-text index in the background after writes', async function () {
    const dir = await freshDir();
    const store = await LanceVectorStore.open(dir, 16, { ftsRefreshIntervalMs: 50 });
    try {
      await store.upsert(Array.from({ length: 30 }, (_, k) => point({ documentId: randomUUID(), tag, vector: axisVector(16, k) })));
      expect((await ftsStats(dir)).numUnindexedRows).to.equal(30);
      const deadline = Date.now() + 10_000;
      while ((await ftsStats(dir)).numUnindexedRows > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(await ftsStats(dir)).to.include({ numUnindexedRows: 0, numIndexedRows: 30 });
    } finally {
      await store.close();
    }
  });

  it('optimizes once reads have paid an optimize\'s worth of rent, not before', async function () {
    const dir = await freshDir();
    // No idle refresh and no commit cap: only the rent can trigger an optimize here.
    const store = await LanceVectorStore.open(dir, 16, { ftsRefreshIntervalMs: 3_600_000, maxWritesBetweenOptimize: 1_000 });
    try {
      const doc = randomUUID();
      for (let k = 0; k < 10; k++) await store.upsert([point({ documentId: doc, tag, vector: axisVector(16, k) })]); // 10 commits
      expect(store.upkeep().refreshes).to.equal(0);
      const paidByWrites = store.upkeep().rentMs; // each append first counts its ids: a scan too
      await store.points(doc); // one scan over 10 fresh fragments
      const perScan = store.upkeep().rentMs - paidByWrites;
      expect(perScan).to.be.greaterThan(0);
      const scansToBuy = Math.ceil((store.upkeep().optimizeCostMs - paidByWrites) / perScan);
      expect(scansToBuy).to.be.greaterThan(3);
      for (let n = 1; n < scansToBuy - 1; n++) await store.points(doc);
      expect(store.upkeep().refreshes).to.equal(0);
      expect((await ftsStats(dir)).numUnindexedRows).to.equal(10);
      for (let n = 0; n < 2 && store.upkeep().refreshes === 0; n++) {
        await store.points(doc);
        await store.upkeep().running;
      }
      expect(store.upkeep()).to.include({ refreshes: 1, rentMs: 0 });
      expect(await ftsStats(dir)).to.include({ numUnindexedRows: 0, numIndexedRows: 10 });
      await store.points(doc); // a compacted table owes nothing
      expect(store.upkeep().rentMs).to.equal(0);
    } finally {
      await store.close();
    }
  });

  it('weighs rent against what an optimize costs at the table\'s size, not against how long the last one took', async function () {
    const dir = await freshDir();
    const store = await LanceVectorStore.open(dir, 16, { ftsRefreshIntervalMs: 3_600_000, maxWritesBetweenOptimize: 3 });
    // An optimize held up while 100 appends commit beside it, as one under load waits behind other work.
    const { started, open: openGate } = holdOptimizes(store);
    try {
      for (let k = 0; k < 3; k++) await store.upsert([point({ documentId: randomUUID(), tag, vector: axisVector(16, k) })]);
      await started;
      const heldFrom = performance.now();
      for (let k = 0; k < 100; k++) await store.upsert([point({ documentId: randomUUID(), tag, vector: axisVector(16, k) })]);
      openGate();
      await store.upkeep().running;
      const heldMs = performance.now() - heldFrom;
      const rows = await withTable(dir, (t) => t.countRows());
      expect(store.upkeep().refreshes).to.be.at.least(1);
      expect(store.upkeep().optimizeCostMs).to.equal(optimizeCostMs(rows));
      expect(heldMs, 'the optimize took longer than the cost it is weighed at').to.be.greaterThan(store.upkeep().optimizeCostMs);
      expect(optimizeCostMs(30_000)).to.be.greaterThan(optimizeCostMs(rows)); // and a bigger table costs more
    } finally {
      openGate();
      await store.close();
    }
  });

  it('optimizes after maxWritesBetweenOptimize commits, whatever the reads', async function () {
    const dir = await freshDir();
    const store = await LanceVectorStore.open(dir, 16, { ftsRefreshIntervalMs: 3_600_000, maxWritesBetweenOptimize: 4 });
    try {
      for (let k = 0; k < 3; k++) await store.upsert([point({ documentId: randomUUID(), tag, vector: axisVector(16, k) })]);
      await store.upkeep().running;
      expect(store.upkeep().refreshes).to.equal(0);
      await store.upsert([point({ documentId: randomUUID(), tag, vector: axisVector(16, 3) })]);
      await store.upkeep().running;
      expect(store.upkeep().refreshes).to.equal(1);
      expect(await ftsStats(dir)).to.include({ numUnindexedRows: 0, numIndexedRows: 4 });
    } finally {
      await store.close();
    }
  });

  it('commits appends while an optimize runs, and holds a delete until it has ended', async function () {
    const dir = await freshDir();
    const store = await LanceVectorStore.open(dir, 16, { ftsRefreshIntervalMs: 3_600_000, maxWritesBetweenOptimize: 3 });
    const events: string[] = [];
    const { table, started, open: openGate } = holdOptimizes(store, () => events.push('optimized'));
    try {
      const remove = table.delete.bind(table);
      table.delete = async (predicate) => {
        events.push('deleted');
        return remove(predicate);
      };

      const doomed = point({ documentId: randomUUID(), tag, vector: axisVector(16, 0) });
      await store.upsert([doomed]);
      await store.upsert([point({ documentId: randomUUID(), tag, vector: axisVector(16, 1) })]);
      await store.upsert([point({ documentId: randomUUID(), tag, vector: axisVector(16, 2) })]); // third commit: optimize
      await started;

      const appended = point({ documentId: randomUUID(), tag, text: 'an appended quokka', vector: axisVector(16, 3) });
      const giveUp = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting for the optimize'), 10_000).unref());
      expect(await Promise.race([store.upsert([appended]).then(() => 'committed'), giveUp])).to.equal('committed');
      expect(events).to.deep.equal([]);
      expect(await withTable(dir, (t) => t.countRows())).to.equal(4);

      const deleting = store.deleteDocument(doomed.documentId);
      openGate();
      expect(await deleting).to.equal(1);
      await store.upkeep().running;
      expect(events).to.deep.equal(['optimized', 'deleted']);
      expect(store.upkeep().refreshes).to.equal(1);
      expect((await store.searchText('quokka', { limit: 5 })).map((h) => h.id)).to.deep.equal([appended.id]);
    } finally {
      openGate();
      await store.close();
    }
    expect(await ftsStats(dir)).to.include({ numUnindexedRows: 0, numIndexedRows: 3 });
  });

  it('keeps every document exact when appends, merges and deletes meet the optimizes they set off', async function () {
    const dir = await freshDir();
    // Every commit sets off an optimize, so nearly every write meets one under way.
    const store = await LanceVectorStore.open(dir, 16, { ftsRefreshIntervalMs: 3_600_000, maxWritesBetweenOptimize: 1 });
    try {
      const job = async (k: number): Promise<{ documentId: string; expected: string[] }> => {
        const documentId = randomUUID();
        const ids = [randomUUID(), randomUUID(), randomUUID()];
        await store.upsert(ids.map((id, i) => point({ id, documentId, tag, generation: 1, vector: axisVector(16, k + i) })));
        const second = [...ids.slice(1), randomUUID()];
        await store.upsert(second.map((id, i) => point({ id, documentId, tag, generation: 2, text: `second ${k}`, vector: axisVector(16, k + i) })));
        if (k % 4 === 0) {
          await store.deleteDocument(documentId);
          return { documentId, expected: [] };
        }
        await store.deleteDocumentExcept(documentId, second);
        return { documentId, expected: second };
      };
      const outcomes = await Promise.all(Array.from({ length: 24 }, (_, k) => job(k)));
      await store.upkeep().running;
      expect(store.upkeep().refreshes).to.be.greaterThan(1);
      for (const { documentId, expected } of outcomes) {
        const stored = await store.points(documentId);
        expect(stored.map((p) => p.id).sort()).to.deep.equal([...expected].sort());
        expect(stored.every((p) => p.generation === 2)).to.equal(true);
      }
      expect(await store.count()).to.equal(18 * 3);
    } finally {
      await store.close();
    }
  });

  it('appends new ids without reading the table first, and still merges the ids it holds, after a reopen too', async function () {
    const dir = await freshDir();
    const idReads: string[] = [];
    /** The store's real table, its id lookups (`countRows(id IN …)`) recorded. */
    const watched = async (): Promise<LanceVectorStore> => {
      const store = await LanceVectorStore.open(dir, 16, { ftsRefreshIntervalMs: 3_600_000 });
      const table = (store as unknown as { table: lancedb.Table }).table;
      const countRows = table.countRows.bind(table);
      table.countRows = async (filter) => {
        if (filter?.startsWith('id IN')) idReads.push(filter);
        return countRows(filter);
      };
      return store;
    };
    const doc = randomUUID();
    const first = Array.from({ length: 5 }, (_, k) => point({ documentId: doc, tag, generation: 1, vector: axisVector(16, k) }));
    let store = await watched();
    try {
      expect(await store.upsert(first)).to.equal(5);
      expect(idReads).to.deep.equal([]);
      expect(await store.upsert(first.map((p) => ({ ...p, generation: 2 })))).to.equal(5);
      expect(idReads).to.have.length(1);
    } finally {
      await store.close();
    }
    store = await watched();
    try {
      expect(await store.upsert(first.map((p) => ({ ...p, generation: 3 })))).to.equal(5);
      expect(idReads).to.have.length(2);
      expect((await store.points(doc)).map((p) => p.generation)).to.deep.equal([3, 3, 3, 3, 3]);
      expect(await store.count()).to.equal(5);
    } finally {
      await store.close();
    }
  });

  it('StoredIds: built from the table, rebuilt bigger once full, never loses a stored id', async function () {
    const dir = await freshDir();
    const stored = Array.from({ length: 20 }, (_, k) => point({ documentId: randomUUID(), tag, vector: axisVector(16, k) }));
    const store = await LanceVectorStore.open(dir, 16);
    await store.upsert(stored);
    await store.close();
    await withTable(dir, async (table) => {
      const ids = new StoredIds(table, 8);
      const storedIds = stored.map((p) => p.id);
      expect(await ids.maybeStored(storedIds)).to.deep.equal(storedIds);
      expect(ids.builds).to.equal(1); // sized for 2 × 20 ids
      const more = Array.from({ length: 30 }, () => randomUUID());
      await ids.add(more);
      expect(ids.builds).to.equal(2);
      expect(await ids.maybeStored([...storedIds, ...more])).to.have.length(50);
      const fresh = Array.from({ length: 1000 }, () => randomUUID());
      expect((await ids.maybeStored(fresh)).length).to.be.lessThan(20); // ~0.02 % expected at this load
    });
  });

  it('searchText refreshes a stale index first, and otherwise scans the unindexed rows', async function () {
    const dir = await freshDir();
    const store = await LanceVectorStore.open(dir, 16, { ftsRefreshIntervalMs: 3_600_000, ftsMaxUnindexedRows: 50 });
    try {
      const text = (k: number): string => `common words here and item number ${k}`;
      await store.upsert(Array.from({ length: 200 }, (_, k) => point({ documentId: randomUUID(), tag, text: text(k), vector: axisVector(16, k) })));
      expect((await ftsStats(dir)).numUnindexedRows).to.equal(200);
      expect(await store.searchText('common', { limit: 300 })).to.have.length(200);
      expect(await ftsStats(dir)).to.include({ numUnindexedRows: 0, numIndexedRows: 200 });

      // A few rows more than the index holds: searched without waiting for a refresh.
      const late = point({ documentId: randomUUID(), tag, text: 'a late quokka arrives', vector: axisVector(16, 1) });
      await store.upsert([late]);
      expect((await ftsStats(dir)).numUnindexedRows).to.equal(1);
      expect((await store.searchText('quokka', { limit: 5 })).map((h) => h.id)).to.deep.equal([late.id]);
      expect((await ftsStats(dir)).numUnindexedRows).to.equal(1);
    } finally {
      await store.close();
    }
    expect((await ftsStats(dir)).numUnindexedRows).to.equal(0); // close brings the index up to date
  });

  it('query helpers: SQL literals double quotes; FTS terms drop syntax', function () {
    expect(sqlString("it's")).to.equal("'it''s'");
    expect(sqlString("' OR '1'='1")).to.equal("''' OR ''1''=''1'");
    expect(ftsTerms('title:"redis-cli" (OR) a\'b --port')).to.deep.equal(['title', 'redis', 'cli', 'OR', 'a', 'b', 'port']);
    expect(ftsTerms('"():*')).to.deep.equal([]);
  });

  it('ingests ~3,000 sections of ~477 documents briskly, with concurrent jobs', async function () {
    this.timeout(120_000);
    const embedder = new HashEmbedder({ dimensions: 384 });
    const store = await LanceVectorStore.open(await freshDir(), 384);
    const words = 'redis cluster replica primary snapshot config port bind password module stream key value'.split(' ');
    const docs = Array.from({ length: 477 }, (_, d) => ({ id: randomUUID(), sections: 4 + (d % 5) }));
    const totalSections = docs.reduce((a, d) => a + d.sections, 0);
    const started = performance.now();
    let inFlight = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < docs.length) {
        const d = docs[next++]!;
        inFlight++;
        const texts = Array.from({ length: d.sections }, (_, s) =>
          Array.from({ length: 300 }, (_, w) => words[(w * 7 + s * 3 + d.sections) % words.length]).join(' ') + ` doc ${d.id} section ${s}`,
        );
        const vectors = await embedder.embed(texts);
        const points = texts.map((text, s) =>
          point({ documentId: d.id, tag: 'bench', title: `Section ${s}`, text, vector: vectors[s]! }),
        );
        expect(await store.upsert(points)).to.equal(points.length);
        expect(await store.deleteDocumentExcept(d.id, points.map((p) => p.id))).to.equal(0);
        inFlight--;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const elapsed = performance.now() - started;
    expect(inFlight).to.equal(0);
    expect(await store.count()).to.equal(totalSections);
    const searchStarted = performance.now();
    const hits = await store.searchText(`doc ${docs[100]!.id}`, { limit: 5 });
    const searchMs = performance.now() - searchStarted;
    expect(hits[0]!.documentId).to.equal(docs[100]!.id);
    await store.close();
    console.log(`      ${totalSections} sections / ${docs.length} documents in ${elapsed.toFixed(0)} ms (embedding included); first search ${searchMs.toFixed(0)} ms`);
    expect(elapsed).to.be.below(30_000);
  });
});
