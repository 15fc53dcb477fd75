import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LadybugGraphStore } from '../../src/adapters/graph/ladybug-graph-store.js';
import { LanceVectorStore } from '../../src/adapters/vector/lancedb-vector-store.js';
import { HashEmbedder } from '../../src/adapters/embedder/hash-embedder.js';
import { hybridQuery, type RetrievalDeps } from '../../src/retrieval/hybrid.js';
import { documentId, globalEntityId, sectionId, sha256Hex } from '../../src/ids/ids.js';
import type { SectionRecord } from '../../src/domain/model.js';

describe('hybrid retrieval over LadybugDB + LanceDB', function () {
  this.timeout(60_000);
  let dir: string;
  let graph: LadybugGraphStore;
  let vectors: LanceVectorStore;
  const embedder = new HashEmbedder({ dimensions: 128 });
  let deps: RetrievalDeps;
  const docId = documentId('r', 'cli://r/persistence.md');
  const texts = [
    ['Persistence', 'Redis can persist data to disk in two ways.'],
    ['AOF', 'The append only file records every write operation; fsync policy everysec trades durability for speed.'],
    ['RDB', 'Snapshotting writes a compact point in time dump of the dataset with BGSAVE.'],
  ] as const;
  const sections: SectionRecord[] = texts.map(([title, text], i) => ({
    id: sectionId(docId, i === 0 ? [title] : ['Persistence', title], 0),
    documentId: docId, ordinal: i, level: i === 0 ? 1 : 2, title, headingPath: i === 0 ? [title] : ['Persistence', title],
    anchor: title.toLowerCase(), text, tokenCount: text.split(' ').length, contentHash: sha256Hex(text),
    parentId: i === 0 ? null : sectionId(docId, ['Persistence'], 0),
  }));
  const bgsave = globalEntityId('Command', 'BGSAVE');

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'retrieval-'));
    graph = await LadybugGraphStore.open(path.join(dir, 'g'));
    vectors = await LanceVectorStore.open(path.join(dir, 'v'), 128);
    deps = { graph, vectors, embedder };
    await graph.writeVersion({
      document: { id: docId, sourceUri: 'cli://r/persistence.md', tag: 'r', title: 'Persistence', checksum: 'c', generation: 1, contentType: 'text/markdown', updatedAt: new Date().toISOString() },
      sections, entities: [{ id: bgsave, kind: 'Command', name: 'BGSAVE' }], mentions: [{ sectionId: sections[2]!.id, entityId: bgsave, count: 1 }], steps: [], references: [],
    });
    const vs = await embedder.embed(sections.map((s) => `${s.headingPath.join(' > ')}\n${s.text}`));
    await vectors.upsert(sections.map((s, i) => ({
      id: s.id, documentId: docId, sourceUri: 'cli://r/persistence.md', tag: 'r', title: s.title, headingPath: s.headingPath,
      text: s.text, contentHash: s.contentHash, generation: 1, embeddingVersion: embedder.version, vector: vs[i]!,
    })));
  });
  after(async () => {
    await graph?.close();
    await vectors?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const opts = { limit: 3, legK: 10, rrfK: 60, tag: 'r' };

  it('answers from the lexical leg alone when the vector leg is off', async () => {
    const a = await hybridQuery(deps, 'append only file fsync', { ...opts, legs: { vector: false, lexical: true } });
    expect(a.evidence[0]?.title).to.equal('AOF');
    expect(a.evidence[0]?.legs).to.deep.equal(['lexical']);
    expect(a.confidence).to.be.greaterThan(0);
  });

  it('answers from the vector leg alone when the lexical leg is off', async () => {
    const a = await hybridQuery(deps, 'append only file records every write', { ...opts, legs: { vector: true, lexical: false } });
    expect(a.evidence[0]?.title).to.equal('AOF');
    expect(a.evidence[0]?.legs).to.deep.equal(['vector']);
  });

  it('is most confident when both legs agree, and quotes stored text', async () => {
    const both = await hybridQuery(deps, 'append only file fsync everysec', opts);
    const one = await hybridQuery(deps, 'append only file fsync everysec', { ...opts, legs: { vector: false, lexical: true } });
    expect(both.evidence[0]?.legs).to.have.members(['vector', 'lexical']);
    expect(both.confidence).to.equal(1);
    expect(one.confidence).to.equal(1);
    expect(sections[1]!.text.replace(/\s+/g, ' ')).to.contain(both.evidence[0]!.snippet.replace(/…/g, '').slice(0, 40));
  });

  it('expands hits through the graph: parent, neighbouring section and mentioned entities', async () => {
    const a = await hybridQuery(deps, 'BGSAVE snapshot dump', opts);
    const top = a.evidence[0]!;
    expect(top.title).to.equal('RDB');
    expect(top.context?.parent?.title).to.equal('Persistence');
    expect(top.context?.previous?.title).to.equal('AOF');
    expect(top.context?.entities.map((e) => e.name)).to.deep.equal(['BGSAVE']);
    const noExpand = await hybridQuery(deps, 'BGSAVE snapshot dump', { ...opts, expand: false });
    expect(noExpand.evidence[0]?.context).to.equal(null);
  });
});
