import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { checkUrl, decideAddress, guardedFetch, normaliseHost, parseAllowList, allowListFrom } from '../src/ssrf.js';

const none = parseAllowList([]);

describe('SSRF address decision (no packets sent)', () => {
  const denied: [string, string][] = [
    ['127.0.0.1', 'loopback'], ['127.0.0.2', 'loopback'], ['::1', 'loopback'],
    ['10.0.0.1', 'private'], ['172.16.5.4', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['169.254.169.254', 'metadata'], ['169.254.1.1', 'link-local'], ['fe80::1', 'link-local'],
    ['100.64.0.1', 'cgnat'], ['100.127.255.254', 'cgnat'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'], ['ff02::1', 'multicast'],
    ['fc00::1', 'ula'], ['fd12:3456::1', 'ula'],
    ['::ffff:10.0.0.1', 'ipv4-mapped-private'], ['::ffff:127.0.0.1', 'ipv4-mapped-loopback'],
    ['::ffff:a9fe:a9fe', 'ipv4-mapped-metadata'], ['0:0:0:0:0:ffff:7f00:1', 'ipv4-mapped-loopback'],
    ['2130706433', 'loopback'], ['0177.0.0.1', 'loopback'], ['0x7f000001', 'loopback'], ['0x7f.1', 'loopback'],
    ['127.1', 'loopback'], ['012.0.0.1', 'private'], ['2852039166', 'metadata'], ['[::1]', 'loopback'],
  ];
  for (const [ip, reason] of denied) {
    it(`denies ${ip} (${reason})`, () => {
      expect(decideAddress(ip, none)).to.deep.equal({ allowed: false, reason });
    });
  }

  it('allows public addresses', () => {
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '100.128.0.1', '172.32.0.1']) {
      expect(decideAddress(ip, none).allowed, ip).to.equal(true);
    }
  });

  it('normalises numeric host forms', () => {
    expect(normaliseHost('2130706433')).to.equal('127.0.0.1');
    expect(normaliseHost('0177.0.0.1')).to.equal('127.0.0.1');
    expect(normaliseHost('0x7f000001')).to.equal('127.0.0.1');
    expect(normaliseHost('Example.COM.')).to.equal('example.com');
    expect(normaliseHost('1.2.3.4.5')).to.equal('1.2.3.4.5');
  });

  it('allow-lists hosts and CIDRs, from config and INGEST_HTTP_ALLOW', () => {
    const allow = allowListFrom(['127.0.0.1', 'docs.internal'], { INGEST_HTTP_ALLOW: '10.1.0.0/16, fd00::/8' });
    expect(decideAddress('127.0.0.1', allow).allowed).to.equal(true);
    expect(decideAddress('127.0.0.2', allow)).to.deep.equal({ allowed: false, reason: 'loopback' });
    expect(decideAddress('10.1.2.3', allow).allowed).to.equal(true);
    expect(decideAddress('10.2.0.1', allow).allowed).to.equal(false);
    expect(decideAddress('fd00::5', allow).allowed).to.equal(true);
    expect(decideAddress('::ffff:127.0.0.1', allow).allowed).to.equal(true);
    expect(decideAddress('192.168.0.9', allow, 'docs.internal').allowed).to.equal(true);
    expect(decideAddress('192.168.0.9', allow, 'other.internal').allowed).to.equal(false);
    expect(() => parseAllowList(['10.0.0.0/99'])).to.throw(/CIDR/);
  });

  it('refuses URLs before connecting: denied literals, numeric forms, plain http, other schemes', () => {
    const allow = parseAllowList(['127.0.0.1']);
    const seen: string[] = [];
    const check = (u: string) => () => checkUrl(new URL(u), allow, (d) => seen.push(d.ip));
    expect(check('http://10.0.0.1/')).to.throw(/plain http/);
    expect(check('https://10.0.0.1/')).to.throw(/denied \(private\)/);
    expect(check('https://169.254.169.254/latest/meta-data/')).to.throw(/metadata/);
    expect(check('https://2130706433/')).to.not.throw();
    expect(check('https://0x7f000002/')).to.throw(/loopback/);
    expect(check('https://0177.0.0.2/')).to.throw(/loopback/);
    expect(check('https://[::ffff:10.0.0.1]/')).to.throw(/ipv4-mapped-private/);
    expect(check('https://[fe80::1]/')).to.throw(/link-local/);
    expect(check('https://100.64.1.1/')).to.throw(/cgnat/);
    expect(check('file:///etc/passwd')).to.throw(/scheme/);
    expect(check('http://127.0.0.1:1/')).to.not.throw();
    expect(seen).to.include('10.0.0.1');
  });
});

describe('guardedFetch against a loopback server', () => {
  let server: Server;
  let base: string;
  let canary: Server | null = null;
  let canaryConnections = 0;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') { res.write(Buffer.alloc(64 * 1024)); res.write(Buffer.alloc(64 * 1024)); return void res.end(); }
      if (req.url === '/to-private') { res.writeHead(302, { location: 'http://10.0.0.1/' }); return void res.end(); }
      if (req.url === '/to-metadata') { res.writeHead(301, { location: 'https://169.254.169.254/latest/meta-data/' }); return void res.end(); }
      if (req.url === '/to-canary') { res.writeHead(302, { location: `http://127.0.0.2:${(canary!.address() as AddressInfo).port}/` }); return void res.end(); }
      if (req.url === '/hop') { res.writeHead(302, { location: '/ok' }); return void res.end(); }
      if (req.url === '/slow') { setTimeout(() => res.end('late'), 2000).unref(); return; }
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    canary = createServer((_req, res) => res.end('canary'));
    canary.on('connection', () => { canaryConnections++; });
    // All of 127.0.0.0/8 is loopback on Linux; a failure to bind here fails the suite loudly.
    await new Promise<void>((r, j) => { canary!.once('error', j); canary!.listen(0, '127.0.0.2', () => r()); });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    if (canary) await new Promise((r) => canary!.close(r));
  });
  const allow = parseAllowList(['127.0.0.1']);

  it('fetches from an allow-listed host and follows a same-host redirect', async () => {
    const r = await guardedFetch(`${base}/hop`, { allow, maxBytes: 1000, timeoutMs: 5000 });
    expect(r.status).to.equal(200);
    expect(r.body.toString()).to.equal('ok');
    expect(r.url).to.equal(`${base}/ok`);
  });

  it('refuses loopback when it is not allow-listed', async () => {
    await guardedFetch(`${base}/`, { allow: none, maxBytes: 1000, timeoutMs: 5000 }).then(() => expect.fail('fetched'), (e: Error) => expect(e.message).to.match(/plain http|denied/));
  });

  it('aborts an oversized body', async () => {
    await guardedFetch(`${base}/big`, { allow, maxBytes: 100_000, timeoutMs: 5000 }).then(() => expect.fail('fetched'), (e: { code: string }) => expect(e.code).to.equal('HTTP_TOO_LARGE'));
  });

  it('enforces the time cap', async () => {
    await guardedFetch(`${base}/slow`, { allow, maxBytes: 1000, timeoutMs: 300 }).then(() => expect.fail('fetched'), (e: { code: string }) => expect(e.code).to.equal('HTTP_TIMEOUT'));
  });

  it('refuses redirects to private and metadata addresses by decision, before connecting', async () => {
    const decisions: string[] = [];
    const o = { allow, maxBytes: 1000, timeoutMs: 5000, onDecision: (d: { ip: string; allowed: boolean }) => decisions.push(`${d.ip}:${d.allowed}`) };
    await guardedFetch(`${base}/to-private`, o).then(() => expect.fail('fetched'), (e: { code: string }) => expect(e.code).to.equal('SSRF_PLAIN_HTTP'));
    await guardedFetch(`${base}/to-metadata`, o).then(() => expect.fail('fetched'), (e: { code: string }) => expect(e.code).to.equal('SSRF_DENIED'));
    expect(decisions).to.include('169.254.169.254:false');
  });

  it('a redirect to a loopback address that is not allow-listed (127.0.0.2) reaches no listener there', async () => {
    const allow2 = parseAllowList(['127.0.0.1']);
    await guardedFetch(`${base}/to-canary`, { allow: allow2, maxBytes: 1000, timeoutMs: 5000 }).then(() => expect.fail('fetched'), (e: { code: string }) => expect(e.code).to.match(/SSRF_/));
    await guardedFetch(`http://127.0.0.2:${(canary!.address() as AddressInfo).port}/`, { allow: allow2, maxBytes: 1000, timeoutMs: 5000 }).then(() => expect.fail('fetched'), (e: { code: string }) => expect(e.code).to.match(/SSRF_/));
    // https to it is refused by the address decision as well (plain http is refused earlier).
    await guardedFetch(`https://127.0.0.2:${(canary!.address() as AddressInfo).port}/`, { allow: allow2, maxBytes: 1000, timeoutMs: 5000 }).then(() => expect.fail('fetched'), (e: { code: string }) => expect(e.code).to.equal('SSRF_DENIED'));
    expect(canaryConnections).to.equal(0);
  });
});
