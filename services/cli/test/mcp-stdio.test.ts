import { readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { REPO_ROOT } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../../../test/helpers/system.js';
import { ingestAndWait } from '../../../test/helpers/wait.js';
import { GUIDE, errorText, mcpToolSuite } from '../../dashboard/test/mcp-suite.js';

const INGESTCTL = path.join(REPO_ROOT, 'scripts', 'ingestctl');

/** fd → file the process holds open (Linux). */
async function openFiles(pid: number | 'self'): Promise<Map<string, string>> {
  const fds = await readdir(`/proc/${pid}/fd`);
  return new Map(await Promise.all(fds.map(async (fd) => [fd, await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')] as [string, string])));
}

describe('ingestctl mcp (stdio, backed by the API)', function () {
  this.timeout(120_000);
  const tag = 'mcp-stdio';
  let t: TestSystem;
  let client: Client;
  let transport: StdioClientTransport;

  const spawnMcp = async (token: string): Promise<{ client: Client; transport: StdioClientTransport }> => {
    const tr = new StdioClientTransport({
      command: INGESTCTL,
      args: ['mcp', '--url', t.system.url, '--token', token],
      // No data dir to fall back on: everything must come through the API.
      env: { ...(process.env as Record<string, string>), INGEST_DATA_DIR: path.join(t.dir, 'no-such-dir') },
      stderr: 'inherit',
    });
    const c = new Client({ name: 'mcp-stdio-test', version: '1.0.0' });
    await c.connect(tr);
    return { client: c, transport: tr };
  };

  before(async () => {
    t = await startTestSystem();
    const s = await ingestAndWait(t.api, `cli://${tag}/guide.md`, GUIDE, tag);
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');
    ({ client, transport } = await spawnMcp(t.token));
  });
  after(async () => {
    await client?.close();
    await t?.stop();
  });

  mcpToolSuite(() => ({ t, client, tag }));

  it('never opens the embedded databases itself', async () => {
    expect(transport.pid).to.be.a('number');
    const [child, mine] = await Promise.all([openFiles(transport.pid!), openFiles('self')]);
    // The embedded system runs in this test process and the child inherits its descriptors (same number,
    // same file); anything else under the data dir the child opened itself.
    const opened = [...child].filter(([fd, file]) => file.startsWith(t.dir) && mine.get(fd) !== file).map(([, file]) => file);
    expect(opened).to.deep.equal([]);
  });

  it('a refused token is a tool error (UNAUTHORIZED), not a crash', async () => {
    const bad = await spawnMcp('wrong-token');
    try {
      expect(errorText(await bad.client.callTool({ name: 'search_docs', arguments: { query: 'append only file' } }))).to.match(/^UNAUTHORIZED: /);
      expect(errorText(await bad.client.callTool({ name: 'list_documents', arguments: {} }))).to.match(/^UNAUTHORIZED: /);
      expect((await bad.client.listTools()).tools).to.have.length(4);
    } finally {
      await bad.client.close();
    }
  });

  it('exits by itself when its stdin closes', async () => {
    const extra = await spawnMcp(t.token);
    const pid = extra.transport.pid!;
    await extra.client.callTool({ name: 'list_documents', arguments: {} }); // an open keep-alive connection must not hold it
    const started = Date.now();
    await extra.client.close(); // ends stdin; the SDK would send SIGTERM only after 2 s
    expect(Date.now() - started).to.be.lessThan(1900);
    expect(() => process.kill(pid, 0)).to.throw();
  });
});
