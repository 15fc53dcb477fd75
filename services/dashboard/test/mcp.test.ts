import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  documentId, ErrorCode, RetryableError, sectionId, sectionPartId, type SectionExpansion, type StoredDocument, type StoredSection,
} from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../../../test/helpers/system.js';
import { ingestAndWait } from '../../../test/helpers/wait.js';
import { McpBackendError } from '../src/mcp-backend.js';
import { runtimeBackend, type RuntimeBackendDeps } from '../src/mcp-runtime-backend.js';
import { GUIDE, mcpToolSuite } from './mcp-suite.js';

describe('MCP over Streamable HTTP at /mcp (dashboard, embedded default)', function () {
  this.timeout(120_000);
  const tag = 'mcp-http';
  let t: TestSystem;
  let client: Client;

  const connect = async (headers: Record<string, string>): Promise<Client> => {
    const c = new Client({ name: 'mcp-test', version: '1.0.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${t.system.url}/mcp`), { requestInit: { headers } }));
    return c;
  };

  before(async () => {
    t = await startTestSystem();
    const s = await ingestAndWait(t.api, `cli://${tag}/guide.md`, GUIDE, tag);
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');
    client = await connect({ authorization: `Bearer ${t.token}` });
  });
  after(async () => {
    await client?.close();
    await t?.stop();
  });

  mcpToolSuite(() => ({ t, client, tag }));

  it('refuses a client without the token, or with a wrong one (401)', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }] as Record<string, string>[]) {
      let error: unknown = null;
      try {
        await (await connect(headers)).close();
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(headers)).to.be.instanceOf(Error);
      expect((error as { code?: number }).code).to.equal(401);
    }
    const res = await fetch(`${t.system.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).to.equal(401);
  });

  it('accepts the token as the password of Basic auth, and answers GET with 405 (stateless)', async () => {
    const basic = await connect({ authorization: `Basic ${Buffer.from(`agent:${t.token}`).toString('base64')}` });
    expect((await basic.listTools()).tools).to.have.length(4);
    await basic.close();
    const res = await fetch(`${t.system.url}/mcp`, { headers: { authorization: `Bearer ${t.token}`, accept: 'text/event-stream' } });
    expect(res.status).to.equal(405);
  });
});

describe('MCP runtime backend over the store ports (in-memory fakes)', () => {
  // Guide: a preamble, an H1, an H2 split into two parts, and an H3 under the first part.
  const doc: StoredDocument = {
    id: documentId('t', 'cli://t/guide.md'), sourceUri: 'cli://t/guide.md', tag: 't', title: 'Guide', checksum: 'c',
    generation: 2, completedGeneration: 2, pipelineVersion: 'p1',
  };
  const big = sectionId(doc.id, ['Guide', 'Big'], 0);
  const S = [
    { id: sectionId(doc.id, [], 0), title: 'Guide', path: [] as string[], parent: null as string | null, text: 'preamble text' },
    { id: sectionId(doc.id, ['Guide'], 0), title: 'Guide', path: ['Guide'], parent: null, text: 'intro text' },
    { id: sectionPartId(big, 0), title: 'Big (part 1)', path: ['Guide', 'Big'], parent: 'A', text: 'big one' },
    { id: sectionPartId(big, 1), title: 'Big (part 2)', path: ['Guide', 'Big'], parent: 'A', text: 'big two' },
    { id: sectionId(doc.id, ['Guide', 'Big', 'Child'], 0), title: 'Child', path: ['Guide', 'Big', 'Child'], parent: 'B1', text: 'child text' },
  ];
  const alias: Record<string, string> = { A: S[1]!.id, B1: S[2]!.id };
  const ref = (i: number) => (S[i] ? { id: S[i]!.id, title: S[i]!.title } : null);
  const expansion = (i: number): SectionExpansion => {
    const p = S[i]!.parent ? S.findIndex((x) => x.id === alias[S[i]!.parent!]) : -1;
    return { sectionId: S[i]!.id, parent: ref(p), previous: ref(i - 1), next: ref(i + 1), entities: i === 4 ? [{ id: 'e1', kind: 'Command', name: 'redis-cli' }] : [] };
  };

  const stored = (i: number): StoredSection => ({
    id: S[i]!.id, documentId: doc.id, ordinal: i, level: S[i]!.path.length, title: S[i]!.title, headingPath: S[i]!.path,
    anchor: '', text: S[i]!.text, contentHash: 'h', generation: 2,
  });

  function deps(o: { fail?: boolean } = {}): RuntimeBackendDeps & { calls: string[] } {
    const calls: string[] = [];
    const fail = () => { if (o.fail) throw new RetryableError(ErrorCode.StoreUnavailable, 'graph down'); };
    return {
      calls,
      graph: {
        expand: async (ids) => { fail(); calls.push('expand'); return S.map((_, i) => expansion(i)).filter((e) => ids.includes(e.sectionId)); },
        getSections: async (ids) => { fail(); calls.push('getSections'); return S.map((_, i) => stored(i)).filter((x) => ids.includes(x.id)); },
        sectionsOf: async (id) => { calls.push('sectionsOf'); return id === doc.id ? S.map((_, i) => stored(i)) : []; },
        getDocument: async (id) => (id === doc.id ? doc : null),
        listDocuments: async (tag) => { fail(); return tag === undefined || tag === 't' ? [doc] : []; },
      },
      ledger: { get: async () => null, tagsOfSource: async () => ['t'] },
      query: async (q) => ({ query: q, confidence: 1, evidence: [] }),
    };
  }

  it('builds the outline from the stored sections: order, heading paths (parts share theirs), depth, parent, preamble', async () => {
    const d = await runtimeBackend(deps()).getDocument(doc.sourceUri);
    expect(d.status).to.equal('UNKNOWN');
    expect(d.sections.map((x) => x.heading_path)).to.deep.equal([[], ['Guide'], ['Guide', 'Big'], ['Guide', 'Big'], ['Guide', 'Big', 'Child']]);
    expect(d.sections.map((x) => x.depth)).to.deep.equal([0, 0, 1, 1, 2]);
    expect(d.sections.map((x) => x.title)).to.deep.equal(['Guide', 'Guide', 'Big (part 1)', 'Big (part 2)', 'Child']);
    expect(d.sections[4]!.parent_id).to.equal(S[2]!.id);
  });

  it('reads a section with its text, heading path, parent, neighbours and entities in two store reads', async () => {
    const d = deps();
    const s = await runtimeBackend(d).getSection(S[4]!.id);
    expect(s).to.deep.include({ text: 'child text', title: 'Child', document_title: 'Guide', tag: 't' });
    expect(s.heading_path).to.deep.equal(['Guide', 'Big', 'Child']);
    expect(s.previous?.id).to.equal(S[3]!.id);
    expect(s.parent?.id).to.equal(S[2]!.id);
    expect(s.entities).to.deep.equal([{ id: 'e1', kind: 'Command', name: 'redis-cli' }]);
    expect(d.calls).to.deep.equal(['getSections', 'expand']);
  });

  it('reason codes: NOT_FOUND for unknown ids and URIs, UNAVAILABLE when a store is down', async () => {
    const b = runtimeBackend(deps());
    const codeOf = (p: Promise<unknown>) => p.then(() => 'none', (e: unknown) => (e instanceof McpBackendError ? e.code : String(e)));
    expect(await codeOf(b.getSection('00000000-0000-4000-8000-000000000000'))).to.equal('NOT_FOUND');
    expect(await codeOf(b.getDocument('cli://t/other.md'))).to.equal('NOT_FOUND');
    const down = runtimeBackend(deps({ fail: true }));
    expect(await codeOf(down.getSection(S[1]!.id))).to.equal('UNAVAILABLE');
    expect(await codeOf(down.listDocuments())).to.equal('UNAVAILABLE');
  });
});
