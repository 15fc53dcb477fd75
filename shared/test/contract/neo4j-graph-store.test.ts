/**
 * Neo4jGraphStore: the GraphStore contract against a real Neo4j 5 when NEO4J_URI is set (the GitHub
 * workflow runs one as a service container), else pending with the reason; then what is particular to
 * Neo4j: schema, labels, the full-text index, and the fence between two stores (two processes).
 * Statement-level checks that need no server live in shared/test/unit/neo4j-cypher-lint.test.ts.
 */
import { expect } from 'chai';
import neo4j from 'neo4j-driver';
import { Neo4jGraphStore, type Neo4jGraphStoreOptions } from '../../src/adapters/graph/neo4j-graph-store.js';
import { ENTITY_KINDS } from '../../src/domain/model.js';
import { buildVersion, expectedCounts, graphStoreContract } from './graph-store.contract.js';
import { pendingReason } from './real-stores.js';

const reason = await pendingReason('NEO4J_URI');

if (reason) {
  describe('GraphStore contract: neo4j (server)', function () {
    it(`runs against Neo4j 5 — pending: ${reason}`);
  });
} else {
  const options: Neo4jGraphStoreOptions = {
    uri: process.env.NEO4J_URI!,
    user: process.env.NEO4J_USER ?? 'neo4j',
    password: process.env.NEO4J_PASSWORD ?? '',
    ...(process.env.NEO4J_DATABASE ? { database: process.env.NEO4J_DATABASE } : {}),
  };
  graphStoreContract('neo4j (server)', () => Neo4jGraphStore.open(options));

  describe('Neo4jGraphStore (server)', function () {
    this.timeout(120_000);
    const driver = neo4j.driver(options.uri, neo4j.auth.basic(options.user!, options.password!), { disableLosslessIntegers: true });
    const query = async (cypher: string, params: Record<string, unknown> = {}) =>
      (await driver.executeQuery(cypher, params, options.database ? { database: options.database } : {})).records.map((r) => r.toObject());
    let store: Neo4jGraphStore;
    const tag = `neo4j-${Date.now()}`;
    const v = (n: string, generation: number) =>
      buildVersion({
        tag,
        uri: `cli://${tag}/${n}.md`,
        generation,
        sections: [
          { path: ['Guide'], commands: ['redis-cli'], parameters: ['--port'], text: `Quasar ${n} install guide` },
          { path: ['Guide', 'Install'], procedure: { name: 'Install', steps: ['get', 'run'] } },
        ],
      });

    beforeEach(async () => {
      store = await Neo4jGraphStore.open(options);
    });
    afterEach(async () => store.close());
    after(async () => driver.close());

    it('creates constraints and indexes idempotently (a second open changes nothing)', async () => {
      const before = await query('SHOW CONSTRAINTS YIELD name RETURN name ORDER BY name');
      await (await Neo4jGraphStore.open(options)).close();
      const constraints = (await query('SHOW CONSTRAINTS YIELD name RETURN name ORDER BY name')).map((r) => r.name);
      expect(constraints).to.deep.equal(before.map((r) => r.name));
      expect(constraints).to.include.members(['document_id', 'section_id', 'entity_id']);
      const indexes = await query('SHOW INDEXES YIELD name, type, state RETURN name, type, state');
      const byName = new Map(indexes.map((i) => [i.name, i]));
      for (const name of ['section_document_id', 'section_generation', 'document_generation', 'document_tag', 'section_fulltext']) {
        expect(byName.get(name)?.state, name).to.equal('ONLINE');
      }
      expect(byName.get('section_fulltext')?.type).to.equal('FULLTEXT');
    });

    it('labels sections :Section:Chunk and entities :Entity plus their allowlisted kind', async () => {
      const x = v('labels', 1);
      await store.writeVersion(x);
      const sections = await query('MATCH (s:Section {document_id: $id}) RETURN labels(s) AS labels', { id: x.document.id });
      expect(sections.every((r) => (r.labels as string[]).sort().join() === 'Chunk,Section')).to.equal(true);
      const entities = await query(
        'MATCH (:Section {document_id: $id})-[:MENTIONS]->(e:Entity) RETURN e.kind AS kind, labels(e) AS labels',
        { id: x.document.id },
      );
      expect(entities.length).to.be.greaterThan(0);
      for (const e of entities) {
        expect(ENTITY_KINDS).to.include(e.kind);
        expect((e.labels as string[]).sort()).to.deep.equal(['Entity', String(e.kind)].sort());
      }
    });

    it('serves the full-text index on section title and text', async () => {
      const x = v('fulltext', 1);
      await store.writeVersion(x);
      await query('CALL db.awaitIndexes(60)');
      const hits = await query(
        "CALL db.index.fulltext.queryNodes('section_fulltext', $q) YIELD node RETURN node.document_id AS documentId",
        { q: 'Quasar' },
      );
      expect(hits.map((h) => h.documentId)).to.include(x.document.id);
    });

    it('holds the fence between two stores (two processes) racing on one document', async () => {
      const other = await Neo4jGraphStore.open(options);
      try {
        const versions = [1, 2, 3, 4, 5, 6].map((g) => v('race', g));
        const results = await Promise.all(versions.map((x, i) => (i % 2 === 0 ? store : other).writeVersion(x)));
        expect(results[5]!.applied).to.equal(true);
        expect((await store.getDocument(versions[0]!.document.id))?.generation).to.equal(6);
        const g6 = versions[5]!;
        await store.removeSectionsExcept(g6.document.id, g6.sections.map((s) => s.id));
        expect(await store.counts(g6.document.id)).to.deep.equal(expectedCounts(g6));
        expect((await store.sectionHashes(g6.document.id)).every((h) => h.generation === 6)).to.equal(true);
      } finally {
        await other.close();
      }
    });

    it('ingests 477 documents concurrently', async function () {
      const docs = Array.from({ length: 477 }, (_, i) =>
        buildVersion({
          tag: `${tag}-bulk`,
          uri: `cli://bulk/${i}.md`,
          generation: 1,
          sections: Array.from({ length: 12 }, (_, s) => ({
            path: s === 0 ? ['Top'] : ['Top', `S${s}`],
            commands: ['redis-cli', `cmd-${(i * 7 + s) % 300}`],
            parameters: [`--opt-${s}`],
          })),
        }),
      );
      const started = performance.now();
      const results = await Promise.all(docs.map((d) => store.writeVersion(d)));
      const ms = performance.now() - started;
      expect(results.every((r) => r.applied)).to.equal(true);
      expect(await store.listDocuments(`${tag}-bulk`)).to.have.length(477);
      console.log(`      477 documents × 12 sections in ${Math.round(ms)} ms`);
    });
  });
}
