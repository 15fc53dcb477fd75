import { expect } from 'chai';
import { artifactKeys, packVectors, unpackVectors, type EmbeddingsArtifact, type Embedder } from '@ingest/shared';
import { embedStage } from '../src/embed.stage.js';
import { EmbeddingsArtifactWriter, embeddingsArtifactBytes } from '../src/embeddings-writer.js';
import { ctx, job, openStageFixture, putParsed, sectionsOf, type StageFixture } from '../../../test/helpers/stage-fixture.js';

describe('embed stage', () => {
  let f: StageFixture;
  before(async () => { f = await openStageFixture(); });
  after(async () => f?.close());

  it('embeds only sections whose content has no vector of this embedding version', async () => {
    const j1 = job('cli://st/e.md', 1);
    const s1 = sectionsOf(j1.documentId, [['A', 'alpha text'], ['B', 'beta text']]);
    await putParsed(f, j1, s1);
    const r1 = await embedStage({ job: j1, upstream: undefined }, { artifacts: f.artifacts, embedder: f.embedder, vectors: f.vectors, batchSize: 1 }, ctx());
    expect(r1.counts).to.deep.equal({ embedded: 2, reused: 0 });
    const art = (await f.artifacts.getJson<EmbeddingsArtifact>(artifactKeys.embeddings(j1.jobId)))!;
    const vs = unpackVectors(art.data, art.ids.length, art.dimensions);
    await f.vectors.upsert(s1.map((s, i) => ({ id: s.id, documentId: j1.documentId, sourceUri: j1.sourceUri, tag: 'st', title: s.title, headingPath: s.headingPath, text: s.text, contentHash: s.contentHash, generation: 1, embeddingVersion: f.embedder.version, vector: vs[i]! })));

    const j2 = job('cli://st/e.md', 2);
    await putParsed(f, j2, sectionsOf(j2.documentId, [['A', 'alpha text'], ['B', 'beta text, edited']]));
    const r2 = await embedStage({ job: j2, upstream: undefined }, { artifacts: f.artifacts, embedder: f.embedder, vectors: f.vectors, batchSize: 8 }, ctx());
    expect(r2.counts).to.deep.equal({ embedded: 1, reused: 1 });
  });

  it('does not ask the vector store what a first version could reuse', async () => {
    const j = job('cli://st/first.md', 1);
    await putParsed(f, j, sectionsOf(j.documentId, [['A', 'alpha text'], ['B', 'beta text']]));
    const asked: number[] = [];
    const vectors = { existingHashes: async (d: string, v: string) => { asked.push(j.generation); return f.vectors.existingHashes(d, v); } };
    const r = await embedStage({ job: j, upstream: undefined }, { artifacts: f.artifacts, embedder: f.embedder, vectors, batchSize: 8 }, ctx());
    expect(r.counts).to.deep.equal({ embedded: 2, reused: 0 });
    expect(asked, 'generation 1: no read').to.deep.equal([]);
    const j2 = job('cli://st/first.md', 2);
    await putParsed(f, j2, sectionsOf(j2.documentId, [['A', 'alpha text']]));
    await embedStage({ job: j2, upstream: undefined }, { artifacts: f.artifacts, embedder: f.embedder, vectors, batchSize: 8 }, ctx());
    expect(asked, 'a later generation reads what it can reuse').to.have.length(1);
  });

  it('fails for good with BAD_EMBEDDING on wrong dimensions or NaN', async () => {
    const j = job('cli://st/bad.md', 1);
    await putParsed(f, j, sectionsOf(j.documentId, [['A', 'x']]));
    const broken = (vector: number[]): Embedder => ({ version: 'broken', dimensions: 64, embed: async () => [vector], close: async () => undefined });
    for (const v of [new Array(63).fill(0.1), [Number.NaN, ...new Array(63).fill(0.1)]]) {
      const error = await embedStage({ job: j, upstream: undefined }, { artifacts: f.artifacts, embedder: broken(v), vectors: f.vectors, batchSize: 8 }, ctx()).then(() => null, (e: unknown) => e);
      expect(error).to.have.property('code', 'BAD_EMBEDDING');
      expect(error).to.have.property('retryable', false);
    }
  });

  it('writes the embeddings artifact as the exact bytes of its JSON, however the vectors arrive', () => {
    // 2,000 × 7 floats = 56,000 bytes: more than one 48 KB base64 step, and not a multiple of 3 (padding at the
    // end); batches of 1, 2 and 5 vectors (28, 56, 140 bytes) leave 1 or 2 bytes to carry into the next one.
    for (const count of [0, 1, 2000]) {
      const packed = Float32Array.from({ length: count * 7 }, (_, i) => Math.sin(i) * 1e3);
      const ids = Array.from({ length: count }, (_, i) => `id-${i}-\u00e9`);
      const meta = { embeddingVersion: 'hash-v1-7', dimensions: 7, ids };
      const expected = Buffer.from(JSON.stringify({ ...meta, data: packVectors(packed) } satisfies EmbeddingsArtifact));
      expect(embeddingsArtifactBytes(meta, packed).equals(expected)).to.equal(true);
      const writer = new EmbeddingsArtifactWriter(meta);
      for (let v = 0, n = 0; v < count; v += [1, 2, 5][n++ % 3]!) writer.add(packed.subarray(v * 7, Math.min(count, v + [1, 2, 5][n % 3]!) * 7));
      const bytes = writer.finish();
      expect(bytes.equals(expected)).to.equal(true);
      const back = JSON.parse(bytes.toString('utf8')) as EmbeddingsArtifact;
      expect(unpackVectors(back.data, back.ids.length, back.dimensions).flat()).to.deep.equal(Array.from(packed));
    }
    const short = new EmbeddingsArtifactWriter({ embeddingVersion: 'v', dimensions: 2, ids: ['a', 'b'] });
    short.add(new Float32Array(2));
    expect(() => short.finish()).to.throw(/2 floats for 2 × 2/);
  });
});
