import type { Express } from 'express';
import { bullmqQueueReader, type Runtime } from '@ingest/shared';

/**
 * GET /metrics (DESIGN §9) and the background sampler of queue depths and ages that feeds it: a scrape
 * only serialises the registry, it never waits on Redis or a store.
 *
 * Unauthenticated, like /health and /ready: DESIGN §9 names only /ui and /api as token-protected, Prometheus
 * and KEDA scrape without secrets, and the body carries no document data (low-cardinality labels only —
 * never a file name, URI or id). The dashboard binds 127.0.0.1 unless told otherwise.
 */
export function mountMetrics(app: Express, rt: Runtime): void {
  rt.metrics.startQueueSampler(bullmqQueueReader(rt.redis, rt.config.queue.prefix), rt.config.dashboard.metricsSampleIntervalMs);
  app.get('/metrics', (_req, res, next) => {
    rt.metrics.scrape().then(({ contentType, body }) => {
      res.setHeader('Content-Type', contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(body);
    }, next);
  });
}
