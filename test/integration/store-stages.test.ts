import { expect } from 'chai';
import { embedStage } from '@ingest/embed';
import { graphStage } from '@ingest/graph';
import { verifyStage } from '@ingest/verify';
import { hybridQuery, type IngestReport, type StageJobData } from '@ingest/shared';
import { vectorStage } from '@ingest/vector';
import { ctx, job, openStageFixture, putParsed, sectionsOf, type StageFixture } from '../helpers/stage-fixture.js';

describe('graph → vector → verify stages over real stores', function () {
  this.timeout(60_000);
  let f: StageFixture;
  const reports: IngestReport[] = [];
  const finished: string[] = [];
  let latestGeneration = 0;
  before(async () => { f = await openStageFixture(); });
  after(async () => f?.close());

  const run = async (j: StageJobData) => {
    const isSuperseded = async (x: StageJobData) => latestGeneration > x.generation;
    const e = await embedStage({ job: j, upstream: undefined }, { artifacts: f.artifacts, embedder: f.embedder, vectors: f.vectors, batchSize: 16 }, ctx());
    const g = await graphStage({ job: j, upstream: e }, { artifacts: f.artifacts, graph: f.graph, isSuperseded }, ctx());
    const v = await vectorStage({ job: j, upstream: g }, { artifacts: f.artifacts, vectors: f.vectors, graph: f.graph, isSuperseded }, ctx());
    return verifyStage({ job: j, upstream: v }, {
      graph: f.graph, vectors: f.vectors, query: (q, o) => hybridQuery(f, q, { ...o, legK: 10, rrfK: 60 }),
      sampleQueries: () => [], selfQueryTopK: 5, pipelineVersion: 'p', embeddingVersion: f.embedder.version,
      jobState: async () => null, saveReport: async (r) => { reports.push(r); return `/tmp/${r.job_id}.json`; },
      finishChain: async (x, outcome) => { finished.push(`${x.jobId}:${outcome}`); },
    }, ctx());
  };

  it('writes both stores, then removes in both what the next version dropped', async () => {
    const j1 = job('cli://st/doc.md', 1);
    latestGeneration = 1;
    await putParsed(f, j1, sectionsOf(j1.documentId, [['A', 'alpha keeps'], ['B', 'beta goes'], ['C', 'gamma keeps']]));
    const r1 = await run(j1);
    expect(r1).to.deep.include({ status: 'DONE', drift_pct: 0 });
    expect(await f.vectors.count(j1.documentId)).to.equal(3);

    const j2 = job('cli://st/doc.md', 2);
    latestGeneration = 2;
    await putParsed(f, j2, sectionsOf(j2.documentId, [['A', 'alpha keeps'], ['C', 'gamma keeps']]));
    const r2 = await run(j2);
    expect(r2).to.deep.include({ status: 'DONE', drift_pct: 0 });
    expect(reports.at(-1)?.changes).to.deep.equal({ created: 0, updated: 0, deleted: 1, unchanged: 2 });
    expect(await f.vectors.count(j2.documentId)).to.equal(2);
    expect(await f.graph.sectionHashes(j2.documentId)).to.have.length(2);
    expect(finished).to.deep.equal([`${j1.jobId}:DONE`, `${j2.jobId}:DONE`]);
  });

  it('vector removes nothing for a first version without asking, and what a later version dropped in both stores', async () => {
    const removals: string[] = [];
    const vectors = Object.create(f.vectors) as typeof f.vectors;
    vectors.deleteDocumentExcept = (id, keep) => { removals.push('vectors'); return f.vectors.deleteDocumentExcept(id, keep); };
    const graph = Object.create(f.graph) as typeof f.graph;
    graph.removeSectionsExcept = (id, keep) => { removals.push('graph'); return f.graph.removeSectionsExcept(id, keep); };
    const through = async (j: StageJobData, bodies: [string, string][]) => {
      latestGeneration = j.generation;
      await putParsed(f, j, sectionsOf(j.documentId, bodies));
      const e = await embedStage({ job: j, upstream: undefined }, { artifacts: f.artifacts, embedder: f.embedder, vectors: f.vectors, batchSize: 16 }, ctx());
      const g = await graphStage({ job: j, upstream: e }, { artifacts: f.artifacts, graph: f.graph, isSuperseded: async () => false }, ctx());
      return vectorStage({ job: j, upstream: g }, { artifacts: f.artifacts, vectors, graph, isSuperseded: async () => false }, ctx());
    };
    const v1 = await through(job('cli://st/first.md', 1), [['A', 'alpha'], ['B', 'beta']]);
    expect(removals, 'generation 1').to.deep.equal([]);
    expect(v1.counts).to.include({ vectors_written: 2, vectors_removed: 0, graph_sections_removed: 0 });
    const j2 = job('cli://st/first.md', 2);
    const v2 = await through(j2, [['A', 'alpha']]);
    expect(removals).to.deep.equal(['vectors', 'graph']);
    expect(v2.counts).to.include({ vectors_removed: 1, graph_sections_removed: 1 });
    expect(await f.vectors.count(j2.documentId)).to.equal(1);
    expect(await f.graph.sectionHashes(j2.documentId)).to.have.length(1);
  });

  it('graph reads what the store held only for a later version, and reports what it changed', async () => {
    const asked: number[] = [];
    const graph = Object.create(f.graph) as typeof f.graph;
    graph.sectionHashes = (id) => { asked.push(latestGeneration); return f.graph.sectionHashes(id); };
    const through = async (j: StageJobData, bodies: [string, string][]) => {
      latestGeneration = j.generation;
      await putParsed(f, j, sectionsOf(j.documentId, bodies));
      const e = await embedStage({ job: j, upstream: undefined }, { artifacts: f.artifacts, embedder: f.embedder, vectors: f.vectors, batchSize: 16 }, ctx());
      return graphStage({ job: j, upstream: e }, { artifacts: f.artifacts, graph, isSuperseded: async () => false }, ctx());
    };
    const g1 = await through(job('cli://st/changes.md', 1), [['A', 'alpha'], ['B', 'beta']]);
    expect(asked, 'generation 1: no read').to.deep.equal([]);
    expect(g1.changes).to.deep.equal({ created: 2, updated: 0, deleted: 0, unchanged: 0 });
    const g2 = await through(job('cli://st/changes.md', 2), [['A', 'alpha'], ['B', 'beta, edited'], ['C', 'gamma']]);
    expect(asked).to.deep.equal([2]);
    expect(g2.changes).to.deep.equal({ created: 1, updated: 1, deleted: 0, unchanged: 1 });
  });

  it('a store stage that finds a newer generation stops with SUPERSEDED and writes nothing', async () => {
    const j3 = job('cli://st/doc.md', 3);
    latestGeneration = 4;
    await putParsed(f, j3, sectionsOf(j3.documentId, [['Z', 'zeta from an old version']]));
    const r = await run(j3);
    expect(r.status).to.equal('SUPERSEDED');
    expect((await f.graph.sectionHashes(j3.documentId)).map((s) => s.id)).to.not.include(sectionsOf(j3.documentId, [['Z', '']])[0]!.id);
    expect(await f.vectors.count(j3.documentId)).to.equal(2);
  });

  it('verify reports drift and not ready when a vector is missing', async () => {
    const j = job('cli://st/drift.md', 1);
    latestGeneration = 1;
    await putParsed(f, j, sectionsOf(j.documentId, [['A', 'one'], ['B', 'two']]));
    await run(j);
    const victim = (await f.vectors.points(j.documentId))[0]!.id;
    await f.vectors.deleteDocumentExcept(j.documentId, (await f.vectors.points(j.documentId)).map((p) => p.id).filter((id) => id !== victim));
    const again = await verifyStage({ job: j, upstream: { v: 1, counts: {} } }, {
      graph: f.graph, vectors: f.vectors, query: (q, o) => hybridQuery(f, q, { ...o, legK: 10, rrfK: 60 }),
      sampleQueries: () => [], selfQueryTopK: 5, pipelineVersion: 'p', embeddingVersion: f.embedder.version,
      jobState: async () => null, saveReport: async (r) => { reports.push(r); return 'x'; }, finishChain: async () => undefined,
    }, ctx());
    expect(again.drift_pct).to.equal(50);
    expect(again.ready_for_queries).to.equal(false);
    expect(reports.at(-1)?.parity.missing_in_vector).to.deep.equal([victim]);
  });

  it('verify answers its title and sample queries without expanding the evidence through the graph', async () => {
    const j = job('cli://st/expand.md', 1);
    latestGeneration = 1;
    await putParsed(f, j, sectionsOf(j.documentId, [['Replication setup', 'configure a replica of the primary'], ['Failover', 'promote the replica']]));
    await run(j);
    const expanded: string[][] = [];
    let ended: { timingsMs?: { verify: number } } | undefined;
    const graph = { expand: async (ids: readonly string[]) => { expanded.push([...ids]); return f.graph.expand(ids); } };
    await verifyStage({ job: j, upstream: { v: 1, counts: {} } }, {
      graph: f.graph, vectors: f.vectors, query: (q, o) => hybridQuery({ ...f, graph }, q, { ...o, legK: 10, rrfK: 60 }),
      sampleQueries: () => [{ q: 'promote the replica', expect_source: 'expand.md' }], selfQueryTopK: 5, pipelineVersion: 'p',
      embeddingVersion: f.embedder.version, jobState: async () => null, saveReport: async (r) => { reports.push(r); return 'x'; },
      finishChain: async (_j, _o, extra) => { ended = extra; },
    }, ctx());
    // The chain's end carries verify's own time, so a DONE state never lacks it.
    expect(ended?.timingsMs?.verify).to.be.a('number');
    const samples = reports.at(-1)!.sample_queries;
    expect(samples.map((q) => q.passed), 'title query and the sample query both found the document').to.deep.equal([true, true]);
    expect(samples[1]!.top_evidence?.snippet).to.contain('promote the replica');
    expect(expanded, 'graph.expand calls made by verify').to.deep.equal([]);
  });
  it('vector upserts a big document a slice of 1,000 points at a time, every point stored with its own vector', async () => {
    const j = job('cli://st/big.md', 1);
    latestGeneration = 1;
    const bodies = Array.from({ length: 2_345 }, (_, k): [string, string] => [`Part ${k}`, `body ${k} of the big document`]);
    await putParsed(f, j, sectionsOf(j.documentId, bodies));
    const e = await embedStage({ job: j, upstream: undefined }, { artifacts: f.artifacts, embedder: f.embedder, vectors: f.vectors, batchSize: 128 }, ctx());
    const g = await graphStage({ job: j, upstream: e }, { artifacts: f.artifacts, graph: f.graph, isSuperseded: async () => false }, ctx());
    const calls: number[] = [];
    const vectors = Object.create(f.vectors) as typeof f.vectors;
    vectors.upsert = (points) => { calls.push(points.length); return f.vectors.upsert(points); };
    const v = await vectorStage({ job: j, upstream: g }, { artifacts: f.artifacts, vectors, graph: f.graph, isSuperseded: async () => false }, ctx());
    expect(calls).to.deep.equal([1_000, 1_000, 345]);
    expect(v.counts).to.include({ vectors_written: 2_345, vectors_removed: 0 });
    const stored = await f.vectors.fullPoints(j.documentId);
    expect(stored).to.have.length(2_345);
    const [expected] = await f.embedder.embed([`Doc / Part 2000\nbody 2000 of the big document`]);
    const part2000 = stored.find((p) => p.title === 'Part 2000')!;
    expect(part2000.vector.map((x) => Math.fround(x))).to.deep.equal(expected!.map((x) => Math.fround(x)));
  });
});
