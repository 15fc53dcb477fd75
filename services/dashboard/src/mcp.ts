import type { Readable, Writable } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { describeError, type Logger, type Runtime } from '@ingest/shared';
import { requireToken } from './auth.js';
import { createRuntimeBackend } from './mcp-runtime-backend.js';
import { McpBackendError, MCP_SEARCH_DEFAULT_LIMIT, MCP_SEARCH_MAX_LIMIT, type McpBackend, type McpErrorCode } from './mcp-backend.js';

/**
 * MCP (DESIGN §9): the hybrid retrieval and the lexical graph offered to agents as four read-only tools.
 * The tools talk only to an `McpBackend`: in the dashboard it is the Runtime itself, in `ingestctl mcp`
 * it is the REST API (so that process never opens the embedded databases).
 */

// ------------------------------------------------------------------ tools

/** Zod messages carry the reason code, so the SDK's own validation error names it too. */
const invalid = (what: string) => ({ error: `INVALID_ARGUMENT: ${what}` });
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const tagSchema = z.string(invalid('tag must be a string')).min(1, invalid('tag must not be empty')).max(200, invalid('tag is at most 200 characters'));

const ok = (value: object): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  structuredContent: value as Record<string, unknown>,
});

const toolError = (code: McpErrorCode, message: string): CallToolResult => ({
  content: [{ type: 'text', text: `${code}: ${message}` }],
  structuredContent: { error: { code, message } },
  isError: true,
});

export interface McpServerOptions {
  readonly logger?: Logger;
  readonly version?: string;
}

/** A fresh MCP server with the four tools over `backend` (one per HTTP request in stateless mode). */
export function createMcpServer(backend: McpBackend, o: McpServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'graphrag-ingest', version: o.version ?? '0.1.0' },
    {
      instructions:
        'Documentation ingested by graphrag-ingest. Start with search_docs; follow a hit with get_section ' +
        '(its text, parent, neighbours, entities) or get_document (its outline). Evidence quotes stored text.',
    },
  );
  const run = async (tool: string, fn: () => Promise<object>): Promise<CallToolResult> => {
    try {
      return ok(await fn());
    } catch (error) {
      if (error instanceof McpBackendError) return toolError(error.code, error.message);
      const e = describeError(error);
      o.logger?.error('mcp tool failed', { tool, ...e });
      return toolError('INTERNAL', e.message);
    }
  };
  const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

  server.registerTool('search_docs', {
    title: 'Search the documentation',
    description:
      'Hybrid retrieval (vector + full-text, fused by reciprocal rank, expanded through the graph). Returns ' +
      '{query, confidence, evidence:[{section_id, document_id, source_uri, title, heading_path, snippet, score, ' +
      'legs, context:{parent, previous, next, entities}}]}. confidence is in [0,1] and higher when both legs agree.',
    inputSchema: {
      query: z.string(invalid('query must be a string')).max(2000, invalid('query is at most 2000 characters'))
        .regex(/\S/, invalid('query must not be blank')).describe('What to look for, in words.'),
      tag: tagSchema.optional().describe('Only documents ingested under this tag.'),
      limit: z.number(invalid('limit must be a number')).int(invalid('limit must be an integer'))
        .min(1, invalid(`limit must be 1–${MCP_SEARCH_MAX_LIMIT}`)).max(MCP_SEARCH_MAX_LIMIT, invalid(`limit must be 1–${MCP_SEARCH_MAX_LIMIT}`))
        .optional().describe(`How many evidence items (default ${MCP_SEARCH_DEFAULT_LIMIT}).`),
    },
    annotations: readOnly,
  }, ({ query, tag, limit }) => run('search_docs', () => backend.search(query, { limit: limit ?? MCP_SEARCH_DEFAULT_LIMIT, ...(tag ? { tag } : {}) })));

  server.registerTool('get_section', {
    title: 'Read one section',
    description:
      'A section by id (from search_docs evidence or get_document): its text, heading path, parent, previous ' +
      'and next sections, and the entities (commands, parameters, procedures, steps) it mentions.',
    inputSchema: {
      section_id: z.string(invalid('section_id must be a string')).regex(UUID, invalid('section_id must be a UUID')).describe('A section id.'),
    },
    annotations: readOnly,
  }, ({ section_id }) => run('get_section', () => backend.getSection(section_id.toLowerCase())));

  server.registerTool('list_documents', {
    title: 'List documents',
    description: 'Documents in the graph, optionally of one tag: {documents:[{document_id, source_uri, tag, title, generation, completed_generation, status}]}.',
    inputSchema: { tag: tagSchema.optional().describe('Only documents ingested under this tag.') },
    annotations: readOnly,
  }, ({ tag }) => run('list_documents', async () => ({ documents: await backend.listDocuments(tag) })));

  server.registerTool('get_document', {
    title: 'Describe one document',
    description: 'A document by source URI: title, status, generation and its sections outline (ids, titles, heading paths, depth).',
    inputSchema: {
      source_uri: z.string(invalid('source_uri must be a string')).min(1, invalid('source_uri must not be empty'))
        .max(4096, invalid('source_uri is at most 4096 characters')).describe('The source URI, as in search_docs evidence.'),
      tag: tagSchema.optional().describe('Needed only when the URI was ingested under several tags.'),
    },
    annotations: readOnly,
  }, ({ source_uri, tag }) => run('get_document', () => backend.getDocument(source_uri, tag)));

  return server;
}

// ------------------------------------------------------------------ Streamable HTTP at /mcp

/**
 * Streamable HTTP in stateless mode (a server and transport per POST, JSON responses): nothing to keep
 * between requests, so every request reads the stores as they are now. Same token as /api.
 */
export function createMcpHttpRouter(backend: McpBackend, token: string, logger?: Logger): express.Router {
  const router = express.Router();
  router.use(requireToken(token));
  router.post('/', express.json({ limit: '1mb' }), (req: Request, res: Response, next: NextFunction) => {
    const server = createMcpServer(backend, logger ? { logger } : {});
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server.connect(transport).then(() => transport.handleRequest(req, res, req.body)).catch((error: unknown) => {
      if (!res.headersSent) return next(error);
      logger?.error('mcp request failed', describeError(error));
    });
  });
  // Stateless: no server-initiated stream (GET) and no session to end (DELETE).
  router.all('/', (_req: Request, res: Response) => {
    res.status(405).setHeader('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  });
  return router;
}

/** The dashboard's /mcp: tools backed by the Runtime directly. */
export function createMcpRouter(rt: Runtime, token: string): express.Router {
  return createMcpHttpRouter(createRuntimeBackend(rt), token, rt.logger);
}

// ------------------------------------------------------------------ stdio (`ingestctl mcp`)

/**
 * Serves the tools over stdio until stdin ends or the client closes. stdout carries only protocol
 * messages, so nothing else in the process may write to it.
 */
export async function serveMcpStdio(backend: McpBackend, o: McpServerOptions & { stdin?: Readable; stdout?: Writable } = {}): Promise<void> {
  const stdin = o.stdin ?? process.stdin;
  const server = createMcpServer(backend, o);
  const transport = new StdioServerTransport(stdin, o.stdout ?? process.stdout);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  await server.connect(transport);
  stdin.once('end', () => void server.close());
  await closed;
}
