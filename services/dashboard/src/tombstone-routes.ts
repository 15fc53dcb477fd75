import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { DEFAULT_GUARD, TombstoneGuard, type Runtime } from '@ingest/shared';

const route = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
  fn(req, res).catch(next);
};

/** Deletions held by the mass-delete guard (DESIGN §4, §10 `ingestctl tombstones`). */
export function createTombstoneRouter(rt: Runtime): Router {
  const r = express.Router();
  const guard = new TombstoneGuard(rt.redis, rt.pipeline, rt.config.deleteGuard ?? DEFAULT_GUARD);

  r.get('/tombstones', route(async (_req, res) => {
    res.json({ scans: await guard.list() });
  }));

  r.post('/tombstones/:scanId/approve', route(async (req, res) => {
    const result = await guard.approve(String(req.params.scanId));
    if (!result) return void res.status(404).json({ code: 'NOT_FOUND', message: 'no held scan with this id' });
    res.json(result);
  }));
  return r;
}
