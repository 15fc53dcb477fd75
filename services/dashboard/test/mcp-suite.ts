// The MCP tool behaviour both transports must show; used by mcp.test.ts (HTTP) and services/cli/test/mcp-stdio.test.ts (stdio).
import { expect } from 'chai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { QueryAnswer } from '@ingest/shared';
import type { DocumentDetail, DocumentSummary, SectionDetail } from '@ingest/dashboard';
import type { TestSystem } from '../../../test/helpers/system.js';
import { ingestAndWait, waitForJob } from '../../../test/helpers/wait.js';

export const GUIDE = `---
title: Persistence guide
---
Redis keeps data in memory and can persist it to disk.

# Persistence guide

Redis offers RDB snapshots and the append only file.

## AOF persistence

The append only file logs every write. Enable it with \`appendonly yes\` and check it with \`redis-cli\`:

\`\`\`sh
redis-cli CONFIG SET appendonly yes
\`\`\`

## RDB snapshots

Snapshots are point-in-time copies written by \`BGSAVE\`.
`;

/** A tool call's JSON answer (structured content), or its error text. */
export function answer<T>(r: unknown): T {
  const result = r as CallToolResult;
  if (result.isError) throw new Error(`tool error: ${JSON.stringify(result.content)}`);
  return result.structuredContent as T;
}

export function errorText(r: unknown): string {
  const result = r as CallToolResult;
  expect(result.isError, JSON.stringify(result)).to.equal(true);
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}

/**
 * The behaviour both transports must show (DESIGN §9): run against /mcp here and against
 * `ingestctl mcp` in services/cli/test/mcp-stdio.test.ts.
 */
export function mcpToolSuite(ctx: () => { t: TestSystem; client: Client; tag: string }): void {
  const t = () => ctx().t;
  const client = () => ctx().client;
  const tag = () => ctx().tag;
  const call = (name: string, args: Record<string, unknown>) => client().callTool({ name, arguments: args });
  const search = async (query: string, extra: Record<string, unknown> = {}) => answer<QueryAnswer>(await call('search_docs', { query, tag: tag(), ...extra }));

  it('lists the four tools with their input schemas', async () => {
    const { tools } = await client().listTools();
    const byName = new Map(tools.map((x) => [x.name, x]));
    expect([...byName.keys()].sort()).to.deep.equal(['get_document', 'get_section', 'list_documents', 'search_docs']);
    expect(byName.get('search_docs')!.inputSchema).to.deep.include({ type: 'object', required: ['query'] });
    expect(Object.keys(byName.get('search_docs')!.inputSchema.properties ?? {})).to.have.members(['query', 'tag', 'limit']);
    expect(byName.get('get_section')!.inputSchema.required).to.deep.equal(['section_id']);
    expect(byName.get('get_document')!.inputSchema.required).to.deep.equal(['source_uri']);
    expect(byName.get('list_documents')!.inputSchema.required ?? []).to.deep.equal([]);
    for (const tool of tools) expect(tool.annotations?.readOnlyHint, tool.name).to.equal(true);
  });

  it('search_docs finds a document ingested a moment before, with evidence and a confidence', async () => {
    const uri = `cli://${tag()}/fresh-${Date.now()}.md`;
    const s = await ingestAndWait(t().api, uri, '# Zanzibar quokka tuning\n\nSet quokka_threads to the number of zanzibar cores.\n', tag());
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');
    const a = await search('zanzibar quokka tuning');
    const top = a.evidence[0]!;
    expect(top.source_uri).to.equal(uri);
    expect(top.heading_path).to.deep.equal(['Zanzibar quokka tuning']);
    expect(top.snippet).to.contain('quokka_threads');
    expect(top.score).to.be.greaterThan(0);
    expect(top.section_id).to.match(/^[0-9a-f-]{36}$/);
    expect(a.confidence).to.be.within(0.5, 1);
  });

  it('get_section returns the text, parent, neighbours and the entities it mentions', async () => {
    const hit = (await search('append only file appendonly AOF persistence')).evidence.find((e) => e.heading_path.at(-1) === 'AOF persistence');
    expect(hit, 'AOF section found').to.not.equal(undefined);
    const s = answer<SectionDetail>(await call('get_section', { section_id: hit!.section_id }));
    expect(s.section_id).to.equal(hit!.section_id);
    expect(s.source_uri).to.equal(`cli://${tag()}/guide.md`);
    expect(s.document_title).to.equal('Persistence guide');
    expect(s.title).to.equal('AOF persistence');
    expect(s.heading_path).to.deep.equal(['Persistence guide', 'AOF persistence']);
    expect(s.text).to.contain('redis-cli CONFIG SET appendonly yes');
    expect(s.parent?.title).to.equal('Persistence guide');
    expect(s.previous?.title).to.equal('Persistence guide');
    expect(s.next?.title).to.equal('RDB snapshots');
    expect(s.entities.map((e) => `${e.kind}:${e.name}`)).to.include('Command:redis-cli');

    // The neighbour's own section reads back too, and points back.
    const next = answer<SectionDetail>(await call('get_section', { section_id: s.next!.id }));
    expect(next.previous?.id).to.equal(s.section_id);
    expect(next.text).to.contain('BGSAVE');
  });

  it('list_documents and get_document describe what is stored, with ledger status and an outline', async () => {
    const listed = answer<{ documents: DocumentSummary[] }>(await call('list_documents', { tag: tag() })).documents;
    const guide = listed.find((d) => d.source_uri === `cli://${tag()}/guide.md`);
    expect(guide).to.deep.include({ tag: tag(), title: 'Persistence guide', status: 'DONE' });
    const all = answer<{ documents: DocumentSummary[] }>(await call('list_documents', {})).documents;
    expect(all.map((d) => d.document_id)).to.include(guide!.document_id);

    const d = answer<DocumentDetail>(await call('get_document', { source_uri: `cli://${tag()}/guide.md` }));
    expect(d).to.deep.include({ title: 'Persistence guide', status: 'DONE', tag: tag() });
    expect(d.generation).to.be.at.least(1);
    expect(d.completed_generation).to.equal(d.generation);
    expect(d.sections.map((x) => x.heading_path)).to.deep.equal([
      [], ['Persistence guide'], ['Persistence guide', 'AOF persistence'], ['Persistence guide', 'RDB snapshots'],
    ]);
    expect(d.sections.map((x) => x.depth)).to.deep.equal([0, 0, 1, 1]);
    expect(d.sections[2]!.parent_id).to.equal(d.sections[1]!.section_id);
    expect(d.sections[0]!.title).to.equal('Persistence guide'); // the preamble carries the document title

    const missing = errorText(await call('get_document', { source_uri: `cli://${tag()}/nope.md` }));
    expect(missing).to.match(/^NOT_FOUND: /);
  });

  it('malformed arguments get a tool error with a reason code, and the server keeps serving', async () => {
    for (const [name, args] of [
      ['search_docs', { query: 42 }],
      ['search_docs', { query: '   ' }],
      ['search_docs', { query: 'x', limit: 0 }],
      ['search_docs', { query: 'x', limit: 'many' }],
      ['search_docs', {}],
      ['get_section', { section_id: 'not-a-uuid' }],
      ['get_document', { source_uri: '' }],
      ['list_documents', { tag: 7 }],
    ] as const) {
      expect(errorText(await call(name, args)), `${name} ${JSON.stringify(args)}`).to.contain('INVALID_ARGUMENT');
    }
    expect(errorText(await call('get_section', { section_id: '00000000-0000-4000-8000-000000000000' }))).to.match(/^NOT_FOUND: /);
    expect((await search('append only file')).evidence.length).to.be.greaterThan(0);
  });

  it('a deleted document is gone from every tool', async () => {
    const uri = `cli://${tag()}/doomed.md`;
    const s = await ingestAndWait(t().api, uri, '# Doomed walrus page\n\nThe walrus xylophone is configured here.\n\n## Walrus details\n\nMore xylophone facts.\n', tag());
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');
    const before = await search('walrus xylophone');
    const sectionIds = before.evidence.filter((e) => e.source_uri === uri).map((e) => e.section_id);
    expect(sectionIds).to.have.length.greaterThan(0);

    const { jobs } = await t().api.ok<{ jobs: { job_id: string }[] }>('POST', '/api/documents/delete', { source_uri: uri, tag: tag() });
    expect((await waitForJob(t().api, jobs[0]!.job_id)).status).to.equal('DELETED');

    expect((await search('walrus xylophone')).evidence.map((e) => e.source_uri)).to.not.include(uri);
    expect(errorText(await call('get_section', { section_id: sectionIds[0] }))).to.match(/^NOT_FOUND: /);
    expect(errorText(await call('get_document', { source_uri: uri }))).to.match(/^NOT_FOUND: .*deleted/);
    const listed = answer<{ documents: DocumentSummary[] }>(await call('list_documents', { tag: tag() })).documents;
    expect(listed.map((d) => d.source_uri)).to.not.include(uri);
  });
}

