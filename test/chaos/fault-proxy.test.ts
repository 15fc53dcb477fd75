// The chaos suite's fault proxy: bytes pass through unchanged, and each mode is observable from a client.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { expect } from 'chai';
import { FaultProxy } from './fault-proxy.js';

/** A TCP client that collects what it receives and how its connection ended. */
async function client(port: number): Promise<{ s: Socket; got: () => string; bytes: () => Buffer; ended: Promise<string> }> {
  const s = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => { chunks.push(d); });
  const ended = new Promise<string>((resolve) => {
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.once('close', () => resolve('closed'));
  });
  await Promise.race([once(s, 'connect'), ended]);
  return { s, got: () => Buffer.concat(chunks).toString(), bytes: () => Buffer.concat(chunks), ended };
}

const until = async (cond: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('chaos fault proxy (TCP and HTTP, loopback)', function () {
  let echo: Server;
  let echoPort: number;
  let proxy: FaultProxy;
  before(async () => {
    echo = createServer((s) => { s.on('error', () => undefined); s.pipe(s); });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoPort = (echo.address() as { port: number }).port;
  });
  beforeEach(async () => { proxy = await FaultProxy.start({ target: echoPort }); });
  afterEach(async () => { await proxy.close(); });
  after(() => echo.close());

  it('pass: bytes go through both ways unchanged and are counted', async () => {
    const c = await client(proxy.port);
    const payload = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    c.s.write(payload);
    await until(() => c.bytes().length >= payload.length);
    expect(c.bytes().equals(payload)).to.equal(true);
    expect(proxy.stats.bytesUp).to.equal(payload.length);
    expect(proxy.stats.bytesDown).to.equal(payload.length);
    c.s.destroy();
  });

  it('latency: replies arrive no sooner than the delay, in order', async () => {
    const c = await client(proxy.port);
    await proxy.setMode({ kind: 'latency', ms: 200 });
    const t0 = Date.now();
    for (const part of ['a', 'b', 'c', 'd']) { c.s.write(part); await new Promise((r) => setTimeout(r, 10)); }
    await until(() => c.got() === 'abcd');
    expect(Date.now() - t0).to.be.at.least(200);
    c.s.destroy();
  });

  it('refuse: open connections close, new ones are refused; pass re-opens the same port', async () => {
    const c = await client(proxy.port);
    await proxy.setMode({ kind: 'refuse' });
    expect(await c.ended).to.equal('closed');
    expect(await (await client(proxy.port)).ended).to.equal('ECONNREFUSED');
    await proxy.setMode({ kind: 'pass' });
    const again = await client(proxy.port);
    again.s.write('back');
    await until(() => again.got() === 'back');
    again.s.destroy();
  });

  it('blackhole: accepted, nothing answered; leaving it closes the broken connection', async () => {
    await proxy.setMode({ kind: 'blackhole' });
    const c = await client(proxy.port);
    c.s.write('lost');
    await until(() => proxy.stats.swallowed === 4);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.got()).to.equal('');
    await proxy.setMode({ kind: 'pass' });
    expect(await c.ended).to.equal('closed');
  });

  it('reset: open and new connections get RST (ECONNRESET)', async () => {
    const c = await client(proxy.port);
    await proxy.setMode({ kind: 'reset' });
    expect(await c.ended).to.equal('ECONNRESET');
    const d = await client(proxy.port);
    expect(await d.ended).to.equal('ECONNRESET');
    expect(proxy.stats.resets).to.equal(2);
  });

  it('connections wait for a target set later, then forward', async () => {
    const late = await FaultProxy.start();
    try {
      const c = await client(late.port);
      c.s.write('early');
      await new Promise((r) => setTimeout(r, 50));
      late.setTarget(echoPort);
      await until(() => c.got() === 'early');
      c.s.destroy();
    } finally { await late.close(); }
  });

  describe('HTTP protocol', () => {
    let web: HttpServer;
    let hp: FaultProxy;
    before(async () => {
      web = createHttpServer((req, res) => { let body = ''; req.on('data', (d) => { body += d; }); req.on('end', () => res.end(`${req.method} ${req.url} ${body}`)); });
      await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    });
    beforeEach(async () => { hp = await FaultProxy.start({ protocol: 'http', target: (web.address() as { port: number }).port }); });
    afterEach(async () => { await hp.close(); });
    after(() => { web.closeAllConnections(); web.close(); });
    const get = async (p: string) => { const r = await fetch(`${hp.url}${p}`, { method: 'POST', body: 'x' }); return { status: r.status, text: await r.text() }; };

    it('pass forwards method, path and body; a share of 0.5 answers every other request 503', async () => {
      expect(await get('/a?b=1')).to.deep.equal({ status: 200, text: 'POST /a?b=1 x' });
      await hp.setMode({ kind: 'http-error', status: 503, share: 0.5 });
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await get(`/r${i}`)).status);
      expect(statuses).to.deep.equal([200, 503, 200, 503, 200, 503]);
      expect(hp.stats.requests.filter((r) => r.injected).map((r) => r.status)).to.deep.equal([503, 503, 503]);
    });

    it('a burst answers the next n requests with the status, then passes; latency delays responses', async () => {
      hp.burst(3, 500);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await get('/b')).status);
      expect(statuses).to.deep.equal([500, 500, 500, 200]);
      await hp.setMode({ kind: 'latency', ms: 200 });
      const t0 = Date.now();
      expect((await get('/slow')).status).to.equal(200);
      expect(Date.now() - t0).to.be.at.least(200);
    });
  });
});
