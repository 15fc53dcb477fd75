import express, { type NextFunction, type Request, type Response } from 'express';
import { Queue } from 'bullmq';
import {
  admissionStopped, contentTypeOf, describeError, keys, quietOnConnectionErrors, STAGES, verifyTag, reportMarkdown,
  type IngestReport, type Runtime, type StageName,
} from '@ingest/shared';
import { requireToken } from './auth.js';
import { mountBoard } from './board.js';
import { mountMetrics } from './metrics-route.js';
import { createMcpRouter } from './mcp.js';
import { createMcpApiRoutes } from './api-mcp-routes.js';
import { createOpsRouter } from './ops-routes.js';
import { createTombstoneRouter } from './tombstone-routes.js';
import { createSourcesRouter } from './sources-routes.js';
import { createStateRouter } from './state-routes.js';

const asyncRoute = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
  fn(req, res).catch(next);
};

const badRequest = (res: Response, message: string) => res.status(400).json({ code: 'BAD_REQUEST', message });

/** Chains in flight = root (verify) jobs not yet finished; the admission-control measure (DESIGN §6). */
async function chainsInFlight(verifyQueue: Queue): Promise<number> {
  const c = await verifyQueue.getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'prioritized');
  return Object.values(c).reduce((a, b) => a + b, 0);
}

/** The REST API of DESIGN §9 that the CLI needs; the only way into the embedded stores for other processes. */
export function createApi(rt: Runtime, token: string): { app: express.Express; close: () => Promise<void> } {
  const queues = Object.fromEntries(STAGES.map((s) => [s, quietOnConnectionErrors(new Queue(s, { connection: rt.redis, prefix: rt.config.queue.prefix }))])) as Record<StageName, Queue>;
  const app = express();
  app.disable('x-powered-by');

  app.get('/health', (_req, res) => {
    const m = process.memoryUsage();
    const mb = (n: number) => Math.round(n / 1048576);
    res.json({ status: 'ok', memory_mb: { rss: mb(m.rss), heap_used: mb(m.heapUsed), external: mb(m.external), array_buffers: mb(m.arrayBuffers) } });
  });
  app.get('/ready', asyncRoute(async (_req, res) => {
    try {
      await rt.redis.ping();
      await Promise.all([rt.graph.counts('00000000-0000-0000-0000-000000000000'), rt.vectors.count('00000000-0000-0000-0000-000000000000')]);
      res.json({ status: 'ready' });
    } catch (error) {
      res.status(503).json({ status: 'not_ready', ...describeError(error) });
    }
  }));

  mountMetrics(app, rt);
  mountBoard(app, Object.values(queues), { token, readOnly: rt.config.dashboard.readOnly });

  const api = express.Router();
  api.use(requireToken(token));

  // A declared length over the cap is refused before a byte of the body is read; the connection is closed
  // rather than drained (body-parser would read off a 100 MB body before answering; reliability B6). It is
  // still a submission: a job id and the REJECTED TOO_LARGE state (DESIGN §5), so status shows it.
  const refuseTooLarge = async (req: Request, res: Response): Promise<void> => {
    const message = `the body is over the ${rt.config.admission.maxBytes}-byte cap`;
    const sourceUri = String(req.query.source_uri ?? '');
    const result = sourceUri
      ? await rt.pipeline.refuse({ sourceUri, tag: String(req.query.tag ?? 'default'), contentType: contentTypeOf(sourceUri) }, { status: 'REJECTED', code: 'TOO_LARGE', message })
      : null;
    res.setHeader('Connection', 'close');
    res.status(413).json({ code: 'TOO_LARGE', message, ...(result ?? {}) });
  };
  api.post('/documents', (req, res, next) => {
    if (Number(req.headers['content-length'] ?? 0) <= rt.config.admission.maxBytes) return next();
    refuseTooLarge(req, res).catch(next);
  }, express.raw({ type: () => true, limit: rt.config.admission.maxBytes + 1 }), asyncRoute(async (req, res) => {
    const sourceUri = String(req.query.source_uri ?? '');
    const tag = String(req.query.tag ?? 'default');
    if (!sourceUri) return void badRequest(res, 'source_uri is required');
    if (await admissionStopped(rt.redis)) {
      res.setHeader('Retry-After', String(Math.ceil(rt.config.backpressure.sampleIntervalMs / 1000)));
      return void res.status(429).json({ code: 'BACKPRESSURE', message: 'admission stopped by back-pressure (Redis memory); retry later' });
    }
    if (await chainsInFlight(queues.verify) >= rt.config.admission.maxInFlight) {
      res.setHeader('Retry-After', '5');
      return void res.status(429).json({ code: 'TOO_MANY_IN_FLIGHT', message: 'too many documents in flight; retry later' });
    }
    const bytes: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await rt.pipeline.submit({
      bytes, sourceUri, tag, contentType: String(req.query.content_type ?? contentTypeOf(sourceUri)), force: req.query.force === 'true',
    });
    res.status(result.status === 'PENDING' ? 202 : 200).json(result);
  }));

  api.post('/documents/delete', express.json(), asyncRoute(async (req, res) => {
    const body = (req.body ?? {}) as { source_uri?: string; tag?: string };
    if (!body.source_uri) return void badRequest(res, 'source_uri is required');
    const tags = body.tag ? [body.tag] : await rt.pipeline.ledger.tagsOfSource(body.source_uri);
    if (tags.length === 0) return void res.status(404).json({ code: 'NOT_FOUND', message: 'no document has this source_uri' });
    res.json({ jobs: await Promise.all(tags.map((t) => rt.pipeline.tombstone(body.source_uri!, t))) });
  }));

  api.get('/jobs', asyncRoute(async (req, res) => {
    const limit = Math.min(Number(req.query.limit ?? 50) || 50, 1000);
    const ids = await rt.pipeline.state.recent(req.query.failed === 'true' ? 2000 : limit);
    const states = (await Promise.all(ids.map((id) => rt.pipeline.state.get(id)))).filter((s) => s !== null);
    const jobs = req.query.failed === 'true' ? states.filter((s) => s.status === 'FAILED').slice(0, limit) : states;
    const depths = Object.fromEntries(await Promise.all(STAGES.map(async (s) => [s, await queues[s].getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'failed', 'completed')])));
    res.json({ jobs, queues: depths });
  }));

  api.post('/jobs/batch', express.json({ limit: '1mb' }), asyncRoute(async (req, res) => {
    const ids = ((req.body ?? {}) as { ids?: unknown }).ids;
    if (!Array.isArray(ids) || ids.length > 5000) return void badRequest(res, 'ids must be an array of at most 5000 job ids');
    const states = await Promise.all(ids.map((id) => rt.pipeline.state.get(String(id))));
    res.json({ jobs: states.filter((s) => s !== null) });
  }));

  api.get('/jobs/:id', asyncRoute(async (req, res) => {
    const state = await rt.pipeline.state.get(String(req.params.id));
    if (!state) return void res.status(404).json({ code: 'NOT_FOUND', message: 'no such job' });
    res.json(state);
  }));

  api.get('/jobs/:id/events', asyncRoute(async (req, res) => {
    res.json({ events: await rt.pipeline.state.events(String(req.params.id), String(req.query.after ?? '-')) });
  }));

  api.get('/jobs/:id/report', asyncRoute(async (req, res) => {
    const raw = await rt.redis.get(keys.report(String(req.params.id)));
    if (!raw) return void res.status(404).json({ code: 'NOT_FOUND', message: 'no report for this job (yet)' });
    if (req.query.format === 'md') return void res.type('text/markdown').send(reportMarkdown(JSON.parse(raw) as IngestReport));
    res.type('application/json').send(raw);
  }));

  api.post('/query', express.json(), asyncRoute(async (req, res) => {
    const body = (req.body ?? {}) as { query?: unknown; tag?: unknown; limit?: unknown };
    if (typeof body.query !== 'string' || body.query.trim() === '') return void badRequest(res, 'query must be a non-empty string');
    const limit = Math.max(1, Math.min(Number(body.limit ?? 5) || 5, 50));
    res.json(await rt.query(body.query.slice(0, 2000), { limit, ...(typeof body.tag === 'string' && body.tag ? { tag: body.tag } : {}) }));
  }));

  api.get('/verify', asyncRoute(async (req, res) => {
    const tag = String(req.query.tag ?? 'default');
    res.json(await verifyTag({
      graph: rt.graph, vectors: rt.vectors, query: (q, o) => rt.query(q, o),
      sampleQueries: rt.config.ingest.tags[tag]?.sampleQueries ?? [], limit: rt.config.verify.selfQueryTopK,
    }, tag));
  }));

  api.get('/documents/:tag', asyncRoute(async (req, res) => {
    res.json({ documents: await rt.graph.listDocuments(String(req.params.tag)) });
  }));

  api.use(createOpsRouter(rt, queues));
  api.use(createTombstoneRouter(rt));
  api.use(createSourcesRouter(rt));
  api.use(createStateRouter(rt));
  app.use('/api', api);
  app.use('/api', createMcpApiRoutes(rt, token));
  app.use('/mcp', createMcpRouter(rt, token));
  app.use((_req: Request, res: Response) => { res.status(404).json({ code: 'NOT_FOUND', message: 'no such route' }); });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = describeError(error);
    const status = (error as { status?: number }).status ?? 500;
    if (status >= 500) rt.logger.error('api error', e);
    // body-parser refuses a body over the cap from its Content-Length before reading it (or aborts the
    // read at the cap): the same reason code as admission's size check (reliability B6).
    if ((error as { type?: string }).type === 'entity.too.large') {
      return void res.status(413).json({ code: 'TOO_LARGE', message: `the body is over the ${rt.config.admission.maxBytes}-byte cap` });
    }
    res.status(status).json(status >= 500 ? { code: e.code, message: e.message } : { code: 'BAD_REQUEST', message: e.message });
  });
  return { app, close: async () => { await Promise.all(Object.values(queues).map((q) => q.close())); } };
}
