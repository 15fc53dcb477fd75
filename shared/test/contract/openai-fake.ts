/**
 * A real HTTP server on 127.0.0.1 that speaks the OpenAI embeddings protocol (`POST /v1/embeddings`), with
 * vectors from the hashing embedder, and a FIFO of planned misbehaviour (429, 5xx, hangs, broken bodies).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HashEmbedder } from '../../src/adapters/embedder/hash-embedder.js';

export const API_KEY = 'sk-test-5f1e0c2b-do-not-log';
export const MODEL = 'test-embed-small';
export const DIMS = 64;

export interface Seen {
  readonly authorization: string | undefined;
  readonly path: string;
  readonly body: { model?: string; input?: string[]; encoding_format?: string; dimensions?: number };
}

/** What the next request gets instead of a normal answer (FIFO), or a normal answer when empty. */
export type Plan =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'hang' }
  | { kind: 'raw'; body: string }
  | { kind: 'mutate'; fn: (data: { index: number; embedding: unknown[] }[]) => unknown };

export class FakeOpenAI {
  readonly seen: Seen[] = [];
  readonly plans: Plan[] = [];
  /** Consulted when no plan is queued: a standing misbehaviour (rate limit, 5xx bursts, garbage for marked inputs). */
  policy?: (body: Seen['body']) => Plan | undefined;
  private server!: Server;
  private readonly model = new HashEmbedder({ dimensions: DIMS });
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Seen['body'];
    this.seen.push({ authorization: req.headers.authorization, path: req.url ?? '', body });
    const plan = this.plans.shift() ?? this.policy?.(body);
    if (plan?.kind === 'hang') return; // never answers; the client's timeout must fire
    if (plan?.kind === 'status') {
      res.writeHead(plan.status, { 'content-type': 'application/json', ...plan.headers });
      return void res.end(plan.body ?? JSON.stringify({ error: { message: `planned ${plan.status}` } }));
    }
    if (plan?.kind === 'raw') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(plan.body);
    }
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
      res.writeHead(404);
      return void res.end();
    }
    if (req.headers.authorization !== `Bearer ${API_KEY}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
    }
    const input = body.input ?? [];
    const vectors = await this.model.embed(input);
    // Answer out of order: the client must sort by index.
    let data = vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })).reverse();
    if (plan?.kind === 'mutate') data = plan.fn(data) as typeof data;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
  }
}
