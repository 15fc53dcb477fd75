import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { documentId, keys, sourceUri, type ReconcileReport } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { ingestAndWait, submit, waitForJob } from '../helpers/wait.js';

describe('reconcile: ledger ↔ graph ↔ vectors', function () {
  this.timeout(120_000);
  let t: TestSystem;
  before(async () => { t = await startTestSystem(); });
  after(async () => t?.stop());
  const rec = (tag: string, repair: boolean) => t.api.ok<ReconcileReport>('POST', '/api/reconcile', { tag, repair });
  const rt = () => t.system.runtime;

  it('reports nothing for a consistent tag', async () => {
    await ingestAndWait(t.api, 'cli://r/ok.md', '# Fine\n\nConsistent.\n', 'r');
    expect((await rec('r', false)).problems).to.deep.equal([]);
  });

  it('rebuilds a lost ledger entry from the graph, so unchanged content is skipped again', async () => {
    const text = '# Lost ledger\n\nRedis lost this entry.\n';
    await ingestAndWait(t.api, 'cli://r/lost.md', text, 'r');
    const docId = documentId('r', 'cli://r/lost.md');
    await rt().redis.del(keys.ledger(docId));
    const report = await rec('r', true);
    expect(report.problems.map((p) => [p.document_id, p.kind, p.repair])).to.deep.equal([[docId, 'ledger_missing', 'ledger_rebuilt']]);
    expect((await submit(t.api, 'cli://r/lost.md', text, 'r')).status).to.equal('SKIPPED');
    expect((await rec('r', false)).problems).to.deep.equal([]);
  });

  it('reports drift with the section ids involved; --repair releases a cli:// source for re-ingest', async () => {
    const text = '# Drift\n\n## One\n\nfirst\n\n## Two\n\nsecond\n';
    await ingestAndWait(t.api, 'cli://r/drift.md', text, 'r');
    const docId = documentId('r', 'cli://r/drift.md');
    const points = await rt().vectors.points(docId);
    const victim = points[0]!.id;
    await rt().vectors.deleteDocumentExcept(docId, points.slice(1).map((p) => p.id));
    const found = await rec('r', false);
    expect(found.problems).to.have.length(1);
    expect(found.problems[0]).to.deep.include({ kind: 'drift', document_id: docId });
    expect(found.problems[0]!.missing_in_vector).to.deep.equal([victim]);
    const fixed = await rec('r', true);
    expect(fixed.problems[0]?.repair).to.equal('cleared_for_reingest');
    const again = await ingestAndWait(t.api, 'cli://r/drift.md', text, 'r'); // same bytes: admitted, not SKIPPED
    expect(again.status).to.equal('DONE');
    expect((await rec('r', false)).problems).to.deep.equal([]);
  });

  it('re-queues a drifting file:// document from its file', async () => {
    const dir = path.join(t.dir, 'files');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'f.md');
    await writeFile(file, '# From a file\n\nRe-read by reconcile.\n');
    const uri = sourceUri.file(file);
    await ingestAndWait(t.api, uri, '# From a file\n\nRe-read by reconcile.\n', 'r');
    const docId = documentId('r', uri);
    await rt().vectors.deleteDocument(docId);
    const fixed = await rec('r', true);
    const p = fixed.problems.find((x) => x.document_id === docId)!;
    expect(p.repair).to.equal('requeued');
    expect((await waitForJob(t.api, p.job_id!)).status).to.equal('DONE');
    expect(await rt().vectors.count(docId)).to.equal(1);
  });
});
