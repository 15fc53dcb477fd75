import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { readSources, type Runtime } from '@ingest/shared';

/** Every source (fs, s3, http) with its tag, location, last scan, backlog and errors (DESIGN §10 `ingestctl status`). */
export function createSourcesRouter(rt: Runtime): Router {
  const r = express.Router();
  r.get('/sources', (_req: Request, res: Response, next: NextFunction) => {
    readSources(rt.redis).then((sources) => res.json({ sources }), next);
  });
  return r;
}
