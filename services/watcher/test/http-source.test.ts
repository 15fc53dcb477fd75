import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import { REPO_ROOT, type LedgerEntry } from '@ingest/shared';
import { startTestSystem, type TestSystem } from '../../../test/helpers/system.js';
import { startHttpSource, type HttpSource } from '../src/http-source.js';

const run = promisify(execFile);

describe('HTTP listing source against a loopback server', function () {
  this.timeout(120_000);
  let t: TestSystem;
  let server: Server;
  let canary: Server | null = null;
  let canaryConnections = 0;
  let base: string;
  let listing: { url: string; etag?: string }[] = [];
  const docs = new Map<string, string>();
  let notModified = 0;
  const decisions: { ip: string; allowed: boolean; reason: string }[] = [];
  let source: HttpSource;
  const TAG = 'web';

  const ledgerOf = (uri: string): Promise<LedgerEntry | null> => t.system.runtime.pipeline.ledgerEntryOf(TAG, uri);
  async function settled(uri: string, status: 'DONE' | 'DELETED'): Promise<LedgerEntry> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const e = await ledgerOf(uri);
      if (e && e.status === status && e.inFlight === null) return e;
      if (Date.now() > deadline) throw new Error(`${uri} not ${status}: ${JSON.stringify(e)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const ingestctl = async (args: string[]) => {
    const r = await run(path.join(REPO_ROOT, 'scripts/ingestctl'), [...args, '--json', '--url', t.system.url, '--token', t.token], { cwd: t.dir });
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  before(async () => {
    t = await startTestSystem();
    canary = createServer((_req, res) => res.end('canary'));
    canary.on('connection', () => { canaryConnections++; });
    await new Promise<void>((r, j) => { canary!.once('error', j); canary!.listen(0, '127.0.0.2', () => r()); }).catch(() => { canary = null; });
    server = createServer((req, res) => {
      const p = new URL(req.url ?? '/', 'http://x').pathname;
      if (p === '/listing.json') return void res.end(JSON.stringify(listing));
      if (p === '/big.md') return void res.end(`# Big\n\n${'x'.repeat(200_000)}`);
      if (p === '/to-private.md') { res.writeHead(302, { location: 'http://10.0.0.1/doc.md' }); return void res.end(); }
      if (p === '/to-metadata.md') { res.writeHead(302, { location: 'https://169.254.169.254/latest/meta-data/' }); return void res.end(); }
      if (p === '/to-canary.md') { res.writeHead(302, { location: `https://127.0.0.2:${canary ? (canary.address() as AddressInfo).port : 9}/doc.md` }); return void res.end(); }
      const body = docs.get(p);
      if (body === undefined) { res.statusCode = 404; return void res.end(); }
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) { notModified++; res.writeHead(304, { etag }); return void res.end(); }
      res.writeHead(200, { etag, 'content-type': 'text/markdown' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    source = startHttpSource(t.system.runtime, {
      url: `${base}/listing.json?token=abc`, tag: TAG, pollIntervalMs: 0, allow: ['127.0.0.1'], maxBytes: 100_000,
      guard: { maxShare: 0.5, minDocuments: 2 }, onDecision: (d) => decisions.push(d),
    });
  });
  after(async () => {
    await source?.close();
    server?.closeAllConnections();
    await new Promise((r) => server.close(r));
    if (canary) await new Promise((r) => canary!.close(r));
    await t?.stop();
  });

  const uri = (name: string) => `${base}/docs/${name}`;

  it('admits listed documents under the URL without its query string', async () => {
    for (const n of ['a', 'b', 'c', 'd']) docs.set(`/docs/${n}.md`, `# Doc ${n}\n\nThe ${n} document explains the ${n} procedure.\n`);
    listing = [{ url: `${base}/docs/a.md?X-Amz-Signature=1` }, { url: '/docs/b.md' }, { url: `${base}/docs/c.md` }, { url: `${base}/docs/d.md` }];
    const s = await source.pollOnce();
    expect(s).to.include({ listed: 4, fetched: 4, submitted: 4, tombstoned: 0, errors: 0, listingError: null });
    for (const n of ['a.md', 'b.md', 'c.md', 'd.md']) await settled(uri(n), 'DONE');
  });

  it('sends conditional GETs: 304s admit nothing, a new presigned query is the same document', async () => {
    listing[0] = { url: `${base}/docs/a.md?X-Amz-Signature=2` };
    const before = (await t.system.runtime.pipeline.ledger.documentsOfTag(TAG)).length;
    const s = await source.pollOnce();
    expect(s).to.include({ listed: 4, fetched: 0, notModified: 4, submitted: 0 });
    expect(notModified).to.equal(4);
    expect((await t.system.runtime.pipeline.ledger.documentsOfTag(TAG)).length).to.equal(before);
  });

  it('a changed entry is fetched and admitted again', async () => {
    const old = (await ledgerOf(uri('b.md')))!;
    docs.set('/docs/b.md', '# Doc b\n\nThe b document now explains a different procedure.\n');
    const s = await source.pollOnce();
    expect(s).to.include({ fetched: 1, notModified: 3, submitted: 1 });
    const fresh = await settled(uri('b.md'), 'DONE');
    expect(fresh.completedChecksum).to.not.equal(old.completedChecksum);
  });

  it('an entry gone from the listing becomes a tombstone', async () => {
    listing = listing.filter((e) => !e.url.includes('d.md'));
    const s = await source.pollOnce();
    expect(s).to.include({ tombstoned: 1, heldScan: null });
    await settled(uri('d.md'), 'DELETED');
  });

  it('aborts an oversized body and refuses redirects to denied addresses (decided without connecting)', async () => {
    listing.push({ url: `${base}/big.md` }, { url: `${base}/to-private.md` }, { url: `${base}/to-metadata.md` }, { url: `${base}/to-canary.md` });
    if (canary) listing.push({ url: `http://127.0.0.2:${(canary.address() as AddressInfo).port}/doc.md` });
    const s = await source.pollOnce();
    expect(s.errors).to.equal(canary ? 5 : 4);
    expect(s.submitted).to.equal(0);
    expect(await ledgerOf(`${base}/big.md`)).to.equal(null);
    expect(decisions.filter((d) => !d.allowed).map((d) => `${d.ip}:${d.reason}`)).to.include('169.254.169.254:metadata');
    if (canary) expect(decisions.filter((d) => !d.allowed).map((d) => `${d.ip}:${d.reason}`)).to.include('127.0.0.2:loopback');
    expect(decisions.some((d) => d.ip === '10.0.0.1' && d.allowed)).to.equal(false);
    expect(canaryConnections).to.equal(0);
    listing = listing.filter((e) => e.url.includes('/docs/'));
  });

  it('holds the tombstones of a broken (empty) listing until an operator approves', async () => {
    listing = [];
    const s = await source.pollOnce();
    expect(s.tombstoned).to.equal(0);
    expect(s.heldScan).to.be.a('string');
    for (const n of ['a.md', 'b.md', 'c.md']) expect((await ledgerOf(uri(n)))!.status).to.equal('DONE');
    const again = await source.pollOnce();
    expect(again.heldScan).to.equal(s.heldScan);

    const schema = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(await readFile(path.join(REPO_ROOT, 'config/schema/cli/tombstones.json'), 'utf8')) as object);
    const listed = await ingestctl(['tombstones', 'list']);
    expect(schema(listed), JSON.stringify(schema.errors)).to.equal(true);
    const scans = listed.scans as { scan_id: string; source_uris: string[]; tag: string; documents_of_tag: number }[];
    expect(scans).to.have.length(1);
    expect(scans[0]).to.include({ scan_id: s.heldScan, tag: TAG, documents_of_tag: 3 });
    expect([...scans[0]!.source_uris].sort()).to.deep.equal([uri('a.md'), uri('b.md'), uri('c.md')]);

    const approved = await ingestctl(['tombstones', 'approve', s.heldScan!]);
    expect(schema(approved), JSON.stringify(schema.errors)).to.equal(true);
    expect(approved.jobs).to.have.length(3);
    for (const n of ['a.md', 'b.md', 'c.md']) await settled(uri(n), 'DELETED');
    const after = await source.pollOnce();
    expect(after).to.include({ tombstoned: 0, heldScan: null });
    expect((await ingestctl(['tombstones'])).scans).to.deep.equal([]);
    await run(path.join(REPO_ROOT, 'scripts/ingestctl'), ['tombstones', 'approve', s.heldScan!, '--json', '--url', t.system.url, '--token', t.token])
      .then(() => expect.fail('approved twice'), (e: { code: number; stdout: string }) => {
        expect(e.code).to.equal(1);
        expect(JSON.parse(e.stdout)).to.include({ code: 'NOT_FOUND' });
      });
  });
});
