import {
  MCP_ERROR_CODES, McpBackendError, serveMcpStdio,
  type DocumentDetail, type DocumentSummary, type McpBackend, type McpErrorCode, type SectionDetail,
} from '@ingest/dashboard';
import type { QueryAnswer } from '@ingest/shared';
import { CliError, type ApiClient } from '../client.js';

const STATUS_CODES: Record<number, McpErrorCode> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHORIZED', 404: 'NOT_FOUND', 409: 'AMBIGUOUS', 429: 'UNAVAILABLE', 503: 'UNAVAILABLE' };

const isMcpCode = (code: unknown): code is McpErrorCode => typeof code === 'string' && (MCP_ERROR_CODES as readonly string[]).includes(code);

/**
 * The MCP backend of `ingestctl mcp`: every tool call is a request to the API (DESIGN §10), so this
 * process never opens the embedded databases; the dashboard answers from its stores as they are now.
 */
export function apiBackend(api: ApiClient): McpBackend {
  async function call<T>(method: string, route: string, body?: unknown): Promise<T> {
    let r: { status: number; body: T };
    try {
      r = await api.request<T>(method, route, body);
    } catch (error) {
      if (error instanceof CliError) throw new McpBackendError(error.code === 'UNAUTHORIZED' ? 'UNAUTHORIZED' : 'UNAVAILABLE', error.message);
      throw error;
    }
    if (r.status >= 400) {
      const e = (r.body ?? {}) as { code?: unknown; message?: unknown };
      const code = isMcpCode(e.code) ? e.code : (STATUS_CODES[r.status] ?? (r.status >= 500 ? 'UNAVAILABLE' : 'INVALID_ARGUMENT'));
      throw new McpBackendError(code, typeof e.message === 'string' ? e.message : `the API answered HTTP ${r.status}`);
    }
    return r.body;
  }
  return {
    search: (query, o) => call<QueryAnswer>('POST', '/api/query', { query, limit: o.limit, ...(o.tag ? { tag: o.tag } : {}) }),
    getSection: (id) => call<SectionDetail>('GET', `/api/sections/${encodeURIComponent(id)}`),
    listDocuments: async (tag) =>
      (await call<{ documents: DocumentSummary[] }>('GET', `/api/documents${tag ? `?${new URLSearchParams({ tag })}` : ''}`)).documents,
    getDocument: (sourceUri, tag) =>
      call<DocumentDetail>('GET', `/api/document?${new URLSearchParams({ source_uri: sourceUri, ...(tag ? { tag } : {}) })}`),
  };
}

/** `ingestctl mcp`: the MCP tools over stdio until stdin ends. */
export async function mcpCommand(api: ApiClient): Promise<number> {
  await serveMcpStdio(apiBackend(api));
  return 0;
}
