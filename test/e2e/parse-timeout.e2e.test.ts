import { expect } from 'chai';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { ingestAndWait } from '../helpers/wait.js';

describe('a parse that exceeds its time limit fails its job, not the process', function () {
  this.timeout(120_000);
  let t: TestSystem;
  // A 1 ms budget: any real parse overruns it, which is what a pathological file does to a normal budget.
  before(async () => { t = await startTestSystem({ overrides: { parse: { timeoutMs: 1 } } }); });
  after(async () => t?.stop());

  it('ends FAILED with PARSE_TIMEOUT, writes nothing, and the system keeps answering', async () => {
    const body = `# Slow\n\n${'A paragraph with `code` and [a link](x.md). '.repeat(4000)}\n`;
    const s = await ingestAndWait(t.api, 'cli://e2e/slow.md', body);
    expect(s.status).to.equal('FAILED');
    expect(s.error?.code).to.equal('PARSE_TIMEOUT');
    expect(await t.system.runtime.graph.listDocuments('e2e')).to.have.length(0);
    const health = await t.api.request<{ status: string }>('GET', '/health');
    expect(health.body.status).to.equal('ok');
  });
});
