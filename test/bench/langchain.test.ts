// The LangChain.js baseline of `npm run bench` does real work: the same vectors as the pipeline's
// embedder, every document's chunks in LanceDB, an unchanged rerun skipped by hash, and a changed
// document's stale chunks deleted (the part LangChain's published LanceDB class cannot do).
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Document } from '@langchain/core/documents';
import { index } from '@langchain/core/indexing';
import { PostgresRecordManager } from '@langchain/community/indexes/postgres';
import { HashEmbedder } from '../../shared/src/adapters/embedder/hash-embedder.js';
import { benchPostgresUrl, HashingEmbeddings, IndexableLanceDB, runLangChain } from './langchain.js';
import { syntheticCorpus } from './corpus.js';

/** The record manager lives in PostgreSQL (BENCH_POSTGRES_URL, default the machine's loopback one): is it listening? */
async function postgresMissing(): Promise<string | null> {
  const url = new URL(benchPostgresUrl());
  const where = `${url.hostname}:${url.port || 5432}`;
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 5432), timeout: 3000 });
    socket.once('connect', () => { socket.destroy(); resolve(null); });
    socket.once('timeout', () => { socket.destroy(); resolve(`PostgreSQL not answering at ${where}; set BENCH_POSTGRES_URL`); });
    socket.once('error', (e) => resolve(`PostgreSQL not reachable at ${where} (${e.message}); set BENCH_POSTGRES_URL`));
  });
}

describe('bench: LangChain.js index() baseline', () => {
  let missing: string | null = null;
  before(async () => { missing = await postgresMissing(); });
  // Pending with the reason, never a silent pass (as the Neo4j/Qdrant suites without a server).
  const needsPostgres = (t: Mocha.Context) => {
    if (!missing) return;
    console.log(`      [bench] LangChain record manager: pending — ${missing}`);
    t.skip();
  };

  it('embeds exactly as the pipeline embedder does', async () => {
    const lc = new HashingEmbeddings(384);
    const ours = new HashEmbedder({ dimensions: 384 });
    const texts = ['redis-cli CONFIG SET maxmemory 100mb', 'Sentinel failover'];
    expect(await lc.embedDocuments(texts)).to.deep.equal(await ours.embed(texts));
    expect(await lc.embedQuery(texts[0]!)).to.deep.equal(ours.embedOne(texts[0]!));
  });

  it('stores the chunks of all 5 documents in LanceDB, then skips every chunk of an unchanged rerun', async function () {
    needsPostgres(this);
    const r = await runLangChain(syntheticCorpus(5), { postgresUrl: benchPostgresUrl(), dimensions: 384 });
    expect(r.first.chunks).to.be.greaterThan(5);
    expect(r.first.result).to.deep.equal({ numAdded: r.first.chunks, numDeleted: 0, numUpdated: 0, numSkipped: 0 });
    expect(r.rows).to.equal(r.first.chunks);
    expect(r.sources).to.equal(5);
    expect(r.rerun.result).to.deep.equal({ numAdded: 0, numDeleted: 0, numUpdated: 0, numSkipped: r.first.chunks });
  });

  it('a changed document: its new chunk is added and its stale chunk deleted from LanceDB', async function () {
    needsPostgres(this);
    const dir = await mkdtemp(path.join(tmpdir(), 'lc-test-'));
    const schema = `lc_test_${process.pid}_${Date.now()}`;
    const recordManager = new PostgresRecordManager('t', { postgresConnectionOptions: { connectionString: benchPostgresUrl() }, schema });
    try {
      await recordManager.pool.query(`CREATE SCHEMA "${schema}"`);
      await recordManager.createSchema();
      const vectorStore = new IndexableLanceDB(new HashingEmbeddings(64), { uri: dir, tableName: 't' });
      const run = (b: string) => index({
        docsSource: [new Document({ pageContent: 'alpha section', metadata: { source: 'a.md' } }), new Document({ pageContent: b, metadata: { source: 'b.md' } })],
        recordManager, vectorStore, options: { cleanup: 'incremental', sourceIdKey: 'source' },
      });
      await run('beta section');
      expect(await run('beta section, edited')).to.deep.equal({ numAdded: 1, numDeleted: 1, numUpdated: 0, numSkipped: 1 });
      const texts = (await vectorStore.openTable()!.query().select(['text']).toArray()).map((row) => String(row.text)).sort();
      expect(texts).to.deep.equal(['alpha section', 'beta section, edited']);
      const [hit] = await vectorStore.similaritySearch('beta edited', 1);
      expect(hit?.pageContent).to.equal('beta section, edited');
      expect(hit?.metadata.source).to.equal('b.md');
    } finally {
      await recordManager.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await recordManager.end();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
