import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** A usage or connection problem: exit code 2 (DESIGN §10). */
export class CliError extends Error {
  constructor(readonly code: string, message: string, readonly exitCode = 2) {
    super(message);
  }
}

export interface Connection {
  readonly url: string;
  readonly token: string;
}

/** --url/--token, else INGEST_URL/INGEST_DASHBOARD_TOKEN, else <data dir>/runtime.json from `ingestctl up`. */
export async function resolveConnection(flags: { url?: string; token?: string; data?: string }): Promise<Connection> {
  let url = flags.url ?? process.env.INGEST_URL;
  let token = flags.token ?? process.env.INGEST_DASHBOARD_TOKEN;
  if (!url || !token) {
    const dataDir = path.resolve(flags.data ?? process.env.INGEST_DATA_DIR ?? './data');
    try {
      const runtime = JSON.parse(await readFile(path.join(dataDir, 'runtime.json'), 'utf8')) as { dashboard_url?: string; token?: string };
      url ??= runtime.dashboard_url;
      token ??= runtime.token;
    } catch {
      // fall through to the error below
    }
  }
  if (!url || !token) {
    throw new CliError('NO_CONNECTION', 'no API to talk to: start `ingestctl up`, or pass --url and --token (or INGEST_URL and INGEST_DASHBOARD_TOKEN)');
  }
  return { url: url.replace(/\/$/, ''), token };
}

export class ApiClient {
  constructor(private readonly conn: Connection) {}

  async request<T>(method: string, route: string, body?: unknown, raw?: Uint8Array): Promise<{ status: number; body: T; headers: Headers }> {
    let res: Response;
    try {
      res = await fetch(`${this.conn.url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${this.conn.token}`,
          ...(raw ? { 'content-type': 'application/octet-stream' } : body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
      });
    } catch (error) {
      throw new CliError('CONNECTION_FAILED', `cannot reach ${this.conn.url}: ${(error as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) parsed = text ? JSON.parse(text) : null;
    if (res.status === 401) throw new CliError('UNAUTHORIZED', 'the API refused the token');
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  async ok<T>(method: string, route: string, body?: unknown): Promise<T> {
    const r = await this.request<T>(method, route, body);
    if (r.status >= 400) {
      const e = r.body as { code?: string; message?: string };
      throw new CliError(e?.code ?? 'API_ERROR', e?.message ?? `HTTP ${r.status}`, r.status === 404 ? 1 : 2);
    }
    return r.body;
  }
}
