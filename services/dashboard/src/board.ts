import type { Express } from 'express';
import type { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { requireToken } from './auth.js';

export const BOARD_PATH = '/ui';
export const BOARD_TITLE = 'graphrag-ingest';

const DESCRIPTIONS: Record<string, string> = {
  parse: 'Markdown → sections (mdast, front matter, segments)',
  extract: 'sections → commands, parameters, procedures, references',
  embed: 'changed sections → vectors',
  graph: 'document version → graph store (first store stage: commits the version)',
  vector: 'vectors → vector store',
  verify: 'parity, sample queries, report; the root of each chain',
};

/**
 * The board's page loads only its own assets: no third-party fonts (its stock page asks Google Fonts, which
 * would tell a third party who opens the ops console), no inline or foreign scripts, no framing.
 */
const CSP = ["default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
  "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'", "form-action 'self'"].join('; ');

export interface BoardOptions {
  readonly token: string;
  /** `dashboard.readOnly`: no pause/retry/clean/remove — Bull Board's write routes answer 405. */
  readonly readOnly: boolean;
}

/**
 * Bull Board at /ui (DESIGN §9) over the stage queues the API already holds (same `{ingest}` prefix, so
 * flows render across all six). Token-protected like /api: Bearer, or the password of HTTP Basic auth, so
 * a browser gets a login prompt; write requests from the board's own page carry a same-origin Origin.
 */
export function mountBoard(app: Express, queues: readonly Queue[], o: BoardOptions): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, {
      readOnlyMode: o.readOnly,
      allowRetries: !o.readOnly,
      displayName: q.name,
      description: DESCRIPTIONS[q.name] ?? '',
    })),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: BOARD_TITLE,
        hideDocsLink: true,
        sortQueues: false,
        ...(o.readOnly ? { environment: { label: 'read-only', color: '#52606d' } } : {}),
      },
    },
  });
  app.use(BOARD_PATH, requireToken(o.token), (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  }, serverAdapter.getRouter());
}
