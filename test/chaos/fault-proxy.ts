// A small loopback TCP/HTTP fault proxy for the chaos suite (DESIGN §13, research/reliability.md §6.3):
// the Toxiproxy toxics we need, in-process, switchable at runtime. TCP modes work for any protocol
// (Redis, Bolt); the HTTP protocol additionally answers chosen requests with an error status.
import { createServer as createHttpServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';

export type FaultMode =
  | { readonly kind: 'pass' }
  /** Every server → client chunk (TCP) or response (HTTP) is held this long; order is kept. */
  | { readonly kind: 'latency'; readonly ms: number }
  /** Down: the listener is closed (ECONNREFUSED) and every open connection is closed. */
  | { readonly kind: 'refuse' }
  /** Connections are accepted, bytes are swallowed, nothing is forwarded or answered. */
  | { readonly kind: 'blackhole' }
  /** Every open connection and every new one is reset (RST). */
  | { readonly kind: 'reset' }
  /** HTTP only: this share of requests (deterministic: 0.5 = every other one) answered with `status`. */
  | { readonly kind: 'http-error'; readonly status: number; readonly share: number; readonly ms?: number };

export interface RequestRecord { readonly at: number; readonly method: string; readonly url: string; readonly status: number; readonly injected: boolean }

export interface FaultProxyStats {
  connections: number;
  resets: number;
  /** Bytes forwarded client → server and server → client. */
  bytesUp: number;
  bytesDown: number;
  /** Bytes swallowed while blackholed. */
  swallowed: number;
  /** HTTP: every request seen, with the status the client got. */
  readonly requests: RequestRecord[];
}

interface Conn { client: Socket; upstream: Socket | null; blackholed: boolean }

/** Writes chunks after a delay, in arrival order (a timer per chunk could reorder them). */
class DelayedWriter {
  private readonly queue: { due: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly out: Socket) {}
  push(chunk: Buffer, delayMs: number): void {
    if (delayMs <= 0 && this.queue.length === 0) { this.out.write(chunk); return; }
    this.queue.push({ due: Date.now() + Math.max(0, delayMs), chunk });
    this.pump();
  }
  private pump(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      while (this.queue.length > 0 && this.queue[0]!.due <= Date.now()) {
        const { chunk } = this.queue.shift()!;
        if (!this.out.destroyed) this.out.write(chunk);
      }
      this.pump();
    }, Math.max(0, this.queue[0]!.due - Date.now()));
  }
  stop(): void { clearTimeout(this.timer); this.queue.length = 0; }
}

export class FaultProxy {
  readonly stats: FaultProxyStats = { connections: 0, resets: 0, bytesUp: 0, bytesDown: 0, swallowed: 0, requests: [] };
  private mode: FaultMode = { kind: 'pass' };
  private target: number | undefined;
  private waitingForTarget: (() => void)[] = [];
  private readonly conns = new Set<Conn>();
  private burstLeft = 0;
  private burstStatus = 503;
  private shareAcc = 0;
  private readonly http = createHttpServer((req, res) => void this.onRequest(req, res));
  private readonly agent = new Agent({ keepAlive: true });
  private listening = true;

  private constructor(private readonly server: Server, readonly port: number, readonly protocol: 'tcp' | 'http') {}

  /** Listens on 127.0.0.1 (a free port unless given). Without a target, connections wait for setTarget. */
  static async start(o: { protocol?: 'tcp' | 'http'; target?: number; port?: number } = {}): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(o.port ?? 0, '127.0.0.1', () => resolve()); });
    const proxy = new FaultProxy(server, (server.address() as { port: number }).port, o.protocol ?? 'tcp');
    server.on('connection', (s) => proxy.onConnection(s));
    if (o.target !== undefined) proxy.setTarget(o.target);
    return proxy;
  }

  get url(): string { return `http://127.0.0.1:${this.port}`; }
  get currentMode(): FaultMode { return this.mode; }
  /** Connections open now. */
  get open(): number { return this.conns.size; }

  setTarget(port: number): void {
    this.target = port;
    for (const go of this.waitingForTarget.splice(0)) go();
  }

  /** HTTP: the next n requests are answered with `status` (a burst of errors), whatever the mode. */
  burst(n: number, status = 503): void { this.burstLeft = n; this.burstStatus = status; }

  async setMode(mode: FaultMode): Promise<void> {
    const was = this.mode;
    this.mode = mode;
    if (mode.kind === 'refuse') {
      this.listening = false;
      await new Promise<void>((resolve) => { this.server.close(() => resolve()); for (const c of this.conns) this.drop(c, false); });
      return;
    }
    if (!this.listening) {
      await new Promise<void>((resolve, reject) => { this.server.once('error', reject); this.server.listen(this.port, '127.0.0.1', () => resolve()); });
      this.listening = true;
    }
    if (mode.kind === 'reset') for (const c of this.conns) this.drop(c, true);
    if (mode.kind === 'blackhole') for (const c of this.conns) c.blackholed = true;
    // A blackholed connection lost bytes: its protocol state is broken, so it is closed, not revived.
    if (was.kind === 'blackhole' && mode.kind !== 'blackhole') for (const c of this.conns) if (c.blackholed) this.drop(c, false);
  }

  async close(): Promise<void> {
    for (const c of this.conns) this.drop(c, false);
    this.agent.destroy();
    if (this.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private drop(c: Conn, reset: boolean): void {
    if (reset) {
      this.stats.resets++;
      if (!c.client.destroyed) c.client.resetAndDestroy();
      if (c.upstream && !c.upstream.destroyed) c.upstream.resetAndDestroy();
    } else {
      c.client.destroy();
      c.upstream?.destroy();
    }
    this.conns.delete(c);
  }

  private onConnection(client: Socket): void {
    this.stats.connections++;
    const c: Conn = { client, upstream: null, blackholed: this.mode.kind === 'blackhole' };
    this.conns.add(c);
    client.on('error', () => undefined);
    client.once('close', () => { c.upstream?.destroy(); this.conns.delete(c); });
    if (this.mode.kind === 'reset') { this.drop(c, true); return; }
    if (this.protocol === 'http' && !c.blackholed) { this.http.emit('connection', client); return; }
    // TCP: buffer what the client sends until the upstream connection exists.
    const early: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      if (c.blackholed) { this.stats.swallowed += chunk.length; return; }
      if (!c.upstream || c.upstream.connecting) { early.push(chunk); return; }
      this.stats.bytesUp += chunk.length;
      c.upstream.write(chunk);
    });
    if (c.blackholed) return;
    const open = () => {
      if (client.destroyed) return;
      const up = connect(this.target!, '127.0.0.1');
      c.upstream = up;
      const down = new DelayedWriter(client);
      up.on('error', () => client.destroy());
      up.once('close', () => { down.stop(); client.destroy(); });
      up.once('connect', () => {
        for (const chunk of early.splice(0)) { this.stats.bytesUp += chunk.length; up.write(chunk); }
      });
      up.on('data', (chunk: Buffer) => {
        if (c.blackholed) { this.stats.swallowed += chunk.length; return; }
        this.stats.bytesDown += chunk.length;
        down.push(chunk, this.mode.kind === 'latency' ? this.mode.ms : 0);
      });
    };
    if (this.target === undefined) this.waitingForTarget.push(open);
    else open();
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record = (status: number, injected: boolean) => this.stats.requests.push({ at: Date.now(), method: req.method ?? '', url: req.url ?? '', status, injected });
    const mode = this.mode;
    let inject: number | null = null;
    if (this.burstLeft > 0) { this.burstLeft--; inject = this.burstStatus; }
    else if (mode.kind === 'http-error') {
      this.shareAcc += mode.share;
      if (this.shareAcc >= 1) { this.shareAcc -= 1; inject = mode.status; }
    }
    const delay = mode.kind === 'latency' ? mode.ms : mode.kind === 'http-error' ? (mode.ms ?? 0) : 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (inject !== null) {
      req.resume();
      record(inject, true);
      res.writeHead(inject, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'FAULT_PROXY', message: `injected ${inject}` } }));
      return;
    }
    if (this.target === undefined) await new Promise<void>((resolve) => this.waitingForTarget.push(resolve));
    const up = httpRequest({ host: '127.0.0.1', port: this.target, method: req.method, path: req.url, headers: req.headers, agent: this.agent }, (r) => {
      record(r.statusCode ?? 0, false);
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.on('data', (chunk: Buffer) => { this.stats.bytesDown += chunk.length; });
      r.pipe(res);
    });
    up.on('error', () => { record(502, false); if (!res.headersSent) res.writeHead(502).end(); else res.destroy(); });
    req.on('data', (chunk: Buffer) => { this.stats.bytesUp += chunk.length; });
    req.pipe(up);
  }
}
