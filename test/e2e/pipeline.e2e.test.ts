import { expect } from 'chai';
import { documentId, type IngestReport } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { ingestAndWait, submit, waitForJob } from '../helpers/wait.js';

const guide = (extra = '') => `---
title: Persistence guide
---
# Persistence guide

Redis offers RDB snapshots and the append only file.

## AOF persistence

The append only file logs every write. Enable it with \`appendonly yes\` and check it with \`redis-cli\`:

\`\`\`sh
redis-cli CONFIG SET appendonly yes
\`\`\`

## RDB snapshots

Snapshots are point-in-time copies written by \`BGSAVE\`.
${extra}`;

describe('pipeline end to end (embedded default, real Redis, LadybugDB, LanceDB)', function () {
  this.timeout(120_000);
  let t: TestSystem;

  before(async () => {
    t = await startTestSystem({
      ingest: { programs: ['redis-cli'], tags: { e2e: { sampleQueries: [{ q: 'append only file persistence', expect_source: 'guide.md', min_confidence: 0.1 }] } } },
    });
  });
  after(async () => t?.stop());

  const report = (jobId: string) => t.api.ok<IngestReport>('GET', `/api/jobs/${jobId}/report`);
  const rt = () => t.system.runtime;

  it('takes a document through all six stages to DONE with a verified report', async () => {
    const s = await ingestAndWait(t.api, 'cli://e2e/guide.md', guide());
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');
    expect(Object.keys(s.timings_ms)).to.include.members(['parse', 'extract', 'embed', 'graph', 'vector', 'verify']);
    const r = await report(s.job_id);
    expect(r.drift_pct).to.equal(0);
    expect(r.ready_for_queries).to.equal(true);
    expect(r.counts.sections).to.equal(3);
    expect(r.counts.vectors).to.equal(r.counts.sections);
    expect(r.sample_queries.map((q) => [q.q, q.passed])).to.deep.equal([['Persistence guide', true], ['append only file persistence', true]]);
    expect(r.sample_queries[0]?.expect_source).to.equal('cli://e2e/guide.md');
    expect(s.report_path).to.match(/ingest_report\.json$/);
  });

  it('skips an unchanged resubmission without starting a flow or writing to a store', async () => {
    const docId = documentId('e2e', 'cli://e2e/guide.md');
    const before = { graph: await rt().graph.counts(docId), vectors: await rt().vectors.count(docId), queued: await rt().redis.keys('{ingest}:parse:*-g*') };
    const r = await submit(t.api, 'cli://e2e/guide.md', guide().replace(/\n/g, '\r\n'));
    expect(r.status).to.equal('SKIPPED');
    expect(r.reason).to.equal('unchanged');
    expect(await rt().graph.counts(docId)).to.deep.equal(before.graph);
    expect(await rt().vectors.count(docId)).to.equal(before.vectors);
    expect((await rt().redis.keys('{ingest}:parse:*-g*')).length).to.equal(before.queued.length);
  });

  it('re-embeds only the edited section and removes what disappeared from both stores', async () => {
    const docId = documentId('e2e', 'cli://e2e/guide.md');
    const edited = guide().replace('Snapshots are point-in-time copies', 'Snapshots are compact point-in-time copies')
      .replace(/## AOF persistence[\s\S]*?```\n/, '');
    const aofSection = (await rt().graph.sectionHashes(docId)).map((x) => x.id);
    const mentionsBefore = (await rt().graph.counts(docId)).mentions;
    const s = await ingestAndWait(t.api, 'cli://e2e/guide.md', edited);
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');
    expect(s.counts.embedded).to.equal(1);
    const r = await report(s.job_id);
    expect(r.changes).to.deep.include({ updated: 1, deleted: 1 });
    expect(r.drift_pct).to.equal(0);
    const sections = await rt().graph.sectionHashes(docId);
    expect(sections).to.have.length(2);
    const removed = aofSection.filter((id) => !sections.some((x) => x.id === id));
    expect(removed).to.have.length(1);
    expect((await rt().graph.mentionsOf(removed[0]!)).size).to.equal(0);
    expect((await rt().graph.counts(docId)).mentions).to.be.lessThan(mentionsBefore);
    expect(await rt().vectors.count(docId)).to.equal(2);
    const hits = await rt().vectors.searchText('appendonly', { limit: 10, tag: 'e2e' });
    expect(hits.filter((h) => h.documentId === docId && h.title === 'AOF persistence')).to.have.length(0);
  });

  it('stores only the newer version when a second one arrives while the first runs', async () => {
    const uri = 'cli://e2e/race.md';
    const v1 = await submit(t.api, uri, '# Race\n\nFirst version body about keyspace.\n');
    const v2 = await submit(t.api, uri, '# Race\n\nSecond version body about eviction.\n');
    expect(v2.job_id).to.not.equal(v1.job_id);
    const [s1, s2] = await Promise.all([waitForJob(t.api, v1.job_id), waitForJob(t.api, v2.job_id)]);
    expect(['DONE', 'SUPERSEDED']).to.include(s1.status);
    expect(s2.status).to.equal('DONE');
    const docId = documentId('e2e', uri);
    const doc = await rt().graph.getDocument(docId);
    expect(doc?.generation).to.equal(s2.generation);
    const points = await rt().vectors.searchText('eviction', { limit: 5, tag: 'e2e' });
    expect(points.some((p) => p.documentId === docId)).to.equal(true);
    const old = await rt().vectors.searchText('keyspace', { limit: 5, tag: 'e2e' });
    expect(old.some((p) => p.documentId === docId)).to.equal(false);
  });

  it('rejects bad input with its reason code while the rest of the batch completes', async () => {
    const deep = `${'> '.repeat(150)}too deep\n`;
    const results = await Promise.all([
      submit(t.api, 'cli://e2e/big.md', Buffer.alloc(t.config.admission.maxBytes + 1, 0x61)),
      submit(t.api, 'cli://e2e/image.md', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0])),
      submit(t.api, 'cli://e2e/latin1.md', Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a])),
      submit(t.api, 'cli://e2e/empty.md', '  \n\n'),
      submit(t.api, 'cli://e2e/deep.md', deep),
      submit(t.api, 'cli://e2e/good.md', '# Good\n\nA fine document about replication.\n'),
    ]);
    const final = await Promise.all(results.map((r) => waitForJob(t.api, r.job_id)));
    const by = Object.fromEntries(final.map((s) => [s.source_uri.split('/').pop(), s]));
    expect(by['big.md']).to.deep.include({ status: 'REJECTED' });
    expect(by['big.md']?.error?.code).to.equal('TOO_LARGE');
    expect(by['image.md']?.error?.code).to.equal('NOT_TEXT');
    expect(by['latin1.md']?.error?.code).to.equal('INVALID_ENCODING');
    expect(by['empty.md']).to.deep.include({ status: 'SKIPPED', reason: 'empty' });
    expect(by['deep.md']?.status).to.equal('FAILED');
    expect(by['deep.md']?.error?.code).to.equal('TOO_DEEP');
    expect(by['good.md']?.status).to.equal('DONE');
    for (const name of ['big.md', 'image.md', 'latin1.md', 'empty.md', 'deep.md']) {
      expect(await rt().graph.getDocument(documentId('e2e', `cli://e2e/${name}`)), name).to.equal(null);
    }
  });

  it('removes a deleted document from both stores, and the tag stops being ready without it', async () => {
    const before = await t.api.ok<{ ready: boolean }>('GET', '/api/verify?tag=e2e');
    expect(before.ready).to.equal(true);
    const docId = documentId('e2e', 'cli://e2e/guide.md');
    const { jobs } = await t.api.ok<{ jobs: { job_id: string }[] }>('POST', '/api/documents/delete', { source_uri: 'cli://e2e/guide.md' });
    const s = await waitForJob(t.api, jobs[0]!.job_id);
    expect(s.status).to.equal('DELETED');
    expect(await rt().graph.getDocument(docId)).to.equal(null);
    expect(await rt().graph.sectionHashes(docId)).to.have.length(0);
    expect(await rt().vectors.count(docId)).to.equal(0);
    const after = await t.api.ok<{ ready: boolean; sample_queries: { passed: boolean }[] }>('GET', '/api/verify?tag=e2e');
    expect(after.ready).to.equal(false);
    expect(after.sample_queries[0]?.passed).to.equal(false);
  });

  it('the janitor removes entities nothing mentions any more, and keeps shared ones', async () => {
    const a = await ingestAndWait(t.api, 'cli://e2e/orphan-a.md', '# A\n\nRun `redis-cli --orphan-flag-a` and `redis-cli PING`.\n');
    const b = await ingestAndWait(t.api, 'cli://e2e/orphan-b.md', '# B\n\nRun `redis-cli PING` too.\n');
    expect([a.status, b.status]).to.deep.equal(['DONE', 'DONE']);
    const before = (await rt().graph.counts()).entities;
    const { jobs } = await t.api.ok<{ jobs: { job_id: string }[] }>('POST', '/api/documents/delete', { source_uri: 'cli://e2e/orphan-a.md' });
    await waitForJob(t.api, jobs[0]!.job_id);
    const removed = await t.system.janitor.runOnce();
    expect(removed).to.be.greaterThan(0);
    expect((await rt().graph.counts()).entities).to.equal(before - removed);
    const stillMentioned = await rt().graph.counts(documentId('e2e', 'cli://e2e/orphan-b.md'));
    expect(stillMentioned.entities).to.be.greaterThan(0);
    expect(await t.system.janitor.runOnce()).to.equal(0);
  });
});
