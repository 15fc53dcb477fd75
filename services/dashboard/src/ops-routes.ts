import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Queue } from 'bullmq';
import { describeError, reconcile, STAGES, type Runtime, type StageName } from '@ingest/shared';

const route = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
  fn(req, res).catch(next);
};

/**
 * Operator routes (DESIGN §10): queue pause/resume, ledger look-ups for `plan`, cancel and retry.
 * A queue paused here is the operator's: the back-pressure controller never resumes it.
 */
export function createOpsRouter(rt: Runtime, queues: Record<StageName, Queue>): Router {
  const r = express.Router();

  r.get('/queues', route(async (_req, res) => {
    const list = await Promise.all(STAGES.map(async (s) => ({
      queue: s,
      paused: await queues[s].isPaused(),
      counts: await queues[s].getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'failed', 'completed'),
    })));
    res.json({ queues: list });
  }));

  r.post('/queues/:stage/:action', route(async (req, res) => {
    const stage = String(req.params.stage) as StageName;
    const action = String(req.params.action);
    if (!STAGES.includes(stage) || (action !== 'pause' && action !== 'resume')) {
      return void res.status(400).json({ code: 'BAD_REQUEST', message: `use /queues/<${STAGES.join('|')}>/<pause|resume>` });
    }
    if (action === 'pause') await queues[stage].pause();
    else await queues[stage].resume();
    res.json({ queue: stage, paused: await queues[stage].isPaused() });
  }));

  /** Ledger entries for (tag, source_uri) pairs, so `ingestctl plan` can compare checksums client-side. */
  r.post('/ledger/lookup', express.json({ limit: '5mb' }), route(async (req, res) => {
    const body = (req.body ?? {}) as { tag?: string; source_uris?: unknown };
    if (typeof body.tag !== 'string' || !Array.isArray(body.source_uris)) return void res.status(400).json({ code: 'BAD_REQUEST', message: 'tag and source_uris are required' });
    const entries = await Promise.all(body.source_uris.map(async (u) => {
      const e = await rt.pipeline.ledgerEntryOf(body.tag!, String(u));
      return { source_uri: String(u), completed_checksum: e?.completedChecksum ?? null, pipeline_version: e?.pipelineVersion ?? null, in_flight: e?.inFlight ?? null };
    }));
    res.json({ pipeline_version: rt.pipeline.pipelineVersion, entries });
  }));

  /** embed's read-only store look-up for compute-stage processes (DESIGN §2 "who writes what"). */
  r.get('/vectors/existing-hashes', route(async (req, res) => {
    const documentId = String(req.query.document_id ?? '');
    const embeddingVersion = String(req.query.embedding_version ?? '');
    if (!/^[0-9a-f-]{36}$/.test(documentId) || !embeddingVersion) return void res.status(400).json({ code: 'BAD_REQUEST', message: 'document_id and embedding_version are required' });
    res.json({ hashes: Object.fromEntries(await rt.vectors.existingHashes(documentId, embeddingVersion)) });
  }));

  r.post('/reconcile', express.json(), route(async (req, res) => {
    const body = (req.body ?? {}) as { tag?: unknown; repair?: unknown };
    const tag = typeof body.tag === 'string' && body.tag ? body.tag : 'default';
    // repair 'ledger': only rebuild the ledger from the graph (a watcher process without the stores, at its start).
    const repair = body.repair === 'ledger' ? 'ledger' : body.repair === true;
    res.json(await reconcile({ pipeline: rt.pipeline, graph: rt.graph, vectors: rt.vectors }, tag, repair));
  }));

  r.post('/jobs/:id/cancel', route(async (req, res) => {
    const result = await rt.pipeline.cancel(String(req.params.id));
    res.status(result.ok ? 200 : result.code === 'NOT_FOUND' ? 404 : 409).json(result);
  }));

  r.post('/jobs/:id/retry', route(async (req, res) => {
    const result = await rt.pipeline.retry(String(req.params.id));
    res.status(result.ok ? 200 : result.code === 'NOT_FOUND' ? 404 : 409).json(result);
  }));

  r.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json(describeError(error));
  });
  return r;
}
