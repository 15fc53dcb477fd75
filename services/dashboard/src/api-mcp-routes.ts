import express, { type NextFunction, type Request, type Response } from 'express';
import type { Runtime } from '@ingest/shared';
import { requireToken } from './auth.js';
import { McpBackendError, type McpBackend, type McpErrorCode } from './mcp-backend.js';
import { createRuntimeBackend } from './mcp-runtime-backend.js';

/**
 * The reads `ingestctl mcp` needs beyond POST /api/query, mounted under /api (same token):
 *   GET /api/sections/:id                       → SectionDetail
 *   GET /api/documents[?tag=T]                  → {documents: DocumentSummary[]}
 *   GET /api/document?source_uri=U[&tag=T]      → DocumentDetail
 * Errors are {code, message} with the MCP reason codes.
 */
export const MCP_ERROR_STATUS: Record<McpErrorCode, number> = {
  INVALID_ARGUMENT: 400, UNAUTHORIZED: 401, NOT_FOUND: 404, AMBIGUOUS: 409, INTERNAL: 500, UNAVAILABLE: 503,
};

const optionalString = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function createMcpApiRoutes(rt: Runtime, token: string, backend: McpBackend = createRuntimeBackend(rt)): express.Router {
  const router = express.Router();
  router.use(requireToken(token));
  const route = (fn: (req: Request) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req).then((body) => res.json(body), (error: unknown) => {
      if (!(error instanceof McpBackendError)) return next(error);
      res.status(MCP_ERROR_STATUS[error.code]).json({ code: error.code, message: error.message });
    });
  };

  router.get('/sections/:id', route(async (req) => {
    const id = String(req.params.id).toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new McpBackendError('INVALID_ARGUMENT', 'section id must be a UUID');
    return backend.getSection(id);
  }));

  router.get('/documents', route(async (req) => ({ documents: await backend.listDocuments(optionalString(req.query.tag)) })));

  router.get('/document', route(async (req) => {
    const sourceUri = optionalString(req.query.source_uri);
    if (!sourceUri) throw new McpBackendError('INVALID_ARGUMENT', 'source_uri is required');
    return backend.getDocument(sourceUri, optionalString(req.query.tag));
  }));

  return router;
}
