import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import express from 'express';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { nodeJobId, REPO_ROOT, STAGES } from '@ingest/shared';
import { mountBoard } from '../src/board.js';
import { launchChromium, loopbackContext } from '../../../test/helpers/browser.js';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';
import { startTestSystem, type TestSystem } from '../../../test/helpers/system.js';
import { ingestAndWait } from '../../../test/helpers/wait.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const SCREENSHOT = path.join(REPO_ROOT, 'reports', 'ui', 'board.png');

describe('Bull Board at /ui in headless Chromium (embedded system)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let t: TestSystem;

  before(async () => {
    browser = await launchChromium();
    t = await startTestSystem();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('answers 401 with a Basic challenge to no token and to a wrong one, on the page, its API and its assets', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: basic('ops', 'wrong') }, { authorization: basic(t.token, '') }];
    for (const route of ['/ui', '/ui/api/queues', '/ui/static/favicon-32x32.png']) {
      for (const headers of attempts) {
        const r = await fetch(`${t.system.url}${route}`, { headers });
        expect(r.status, `${route} ${JSON.stringify(headers)}`).to.equal(401);
        expect(r.headers.get('www-authenticate')).to.match(/^Basic realm=/);
        expect(await r.text()).to.not.contain('graphrag-ingest</title>');
      }
    }
    const { context } = await loopbackContext(browser);
    const page = await context.newPage();
    const statuses: number[] = [];
    page.on('response', (r) => { if (new URL(r.url()).pathname === '/ui') statuses.push(r.status()); });
    let failure = '';
    await page.goto(`${t.system.url}/ui`).catch((e: unknown) => { failure = String(e); });
    expect(statuses).to.deep.equal([401]);
    expect(failure).to.match(/ERR_INVALID_AUTH_CREDENTIALS/);
    await context.close();
  });

  it('renders all six queues and the finished chain with the token (Basic auth), and saves a screenshot', async () => {
    const s = await ingestAndWait(t.api, 'cli://board/guide.md', '# Board guide\n\nBull Board shows every stage queue.\n\n## Flows\n\nOne chain per version.\n');
    expect(s.status, JSON.stringify(s.error)).to.equal('DONE');

    const { context, blocked } = await loopbackContext(browser, { httpCredentials: { username: 'operator', password: t.token } });
    const page = await context.newPage();
    const errors: string[] = [];
    const cspViolations: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    const response = await page.goto(`${t.system.url}/ui`);
    expect(response?.status()).to.equal(200);
    expect(await page.title()).to.equal('graphrag-ingest');
    const sidebar = page.locator('#bull-board-sidebar');
    for (const stage of STAGES) {
      await sidebar.locator(`a[href="/ui/queue/${stage}"]`).waitFor({ state: 'visible', timeout: 15_000 });
      await page.locator(`main a[href="/ui/queue/${stage}"]`).waitFor({ state: 'visible', timeout: 15_000 });
    }
    expect(await sidebar.locator('a[href^="/ui/queue/"]').allInnerTexts()).to.deep.equal([...STAGES]);

    // The finished chain: its root (verify) job is listed among the completed ones.
    await page.goto(`${t.system.url}/ui/queue/verify?status=completed`);
    await page.getByText(nodeJobId(s.job_id, 'verify')).first().waitFor({ state: 'visible', timeout: 15_000 });

    await page.goto(`${t.system.url}/ui`);
    await page.locator('main a[href="/ui/queue/verify"]').waitFor({ state: 'visible' });
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).to.deep.equal([]);
    // The page's own code runs under the CSP; only the stock third-party font stylesheet is refused.
    expect(cspViolations.filter((v) => !v.includes('fonts.googleapis.com')), cspViolations.join('\n')).to.deep.equal([]);
    expect(blocked.filter((origin) => !origin.includes('fonts.googleapis.com')), 'no other third-party request').to.deep.equal([]);
    await context.close();
  });

  it('takes the Bearer token too, and lists the six queues under the {ingest} prefix, writable by default', async () => {
    const r = await fetch(`${t.system.url}/ui/api/queues?activeQueue=verify&status=completed&page=1&jobsPerPage=10`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-security-policy')).to.contain("default-src 'self'").and.contain("script-src 'self'");
    const body = (await r.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(body.queues.map((q) => q.name).sort()).to.deep.equal([...STAGES].sort());
    expect(body.queues.every((q) => q.readOnlyMode === false)).to.equal(true);
  });
});

describe('Bull Board mount: a running job\'s progress, and read-only mode', function () {
  this.timeout(60_000);
  const TOKEN = 'board-token';
  const PREFIX = '{ingest}';
  let browser: Browser;
  let server: TestRedis;
  let redis: Redis;
  let queues: Queue[];
  let worker: Worker;
  let workerConnection: Redis | undefined;
  let release: () => void = () => undefined;
  const servers: import('node:http').Server[] = [];

  const serve = async (readOnly: boolean): Promise<string> => {
    const app = express();
    mountBoard(app, queues, { token: TOKEN, readOnly });
    const s = app.listen(0, '127.0.0.1');
    servers.push(s);
    await new Promise((resolve) => s.once('listening', resolve));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };

  before(async () => {
    browser = await launchChromium();
    server = await startTestRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    await redis.flushdb();
    queues = STAGES.map((name) => new Queue(name, { connection: redis, prefix: PREFIX }));
    const held = new Promise<void>((resolve) => { release = resolve; });
    worker = new Worker('embed', async (job) => {
      await job.updateProgress(42);
      await held;
      return { v: 1 };
    }, { connection: (workerConnection = redis.duplicate()), prefix: PREFIX });
    await queues[STAGES.indexOf('embed')]!.add('ingest-embed', { v: 1 }, { jobId: 'doc-g1-embed' });
    const deadline = Date.now() + 10_000;
    while ((await queues[STAGES.indexOf('embed')]!.getJob('doc-g1-embed'))?.progress !== 42) {
      if (Date.now() > deadline) throw new Error('the held job never reported progress');
      await new Promise((r) => setTimeout(r, 25));
    }
  });
  after(async () => {
    release();
    await browser?.close();
    await worker?.close();
    workerConnection?.disconnect(); // a connection handed to BullMQ is the caller's to close
    for (const s of servers) s.close();
    await Promise.all((queues ?? []).map((q) => q.close()));
    redis?.disconnect();
    await server?.stop();
  });

  it('shows a running job\'s progress in the browser', async () => {
    const url = await serve(false);
    const { context } = await loopbackContext(browser, { httpCredentials: { username: 'ops', password: TOKEN } });
    const page = await context.newPage();
    await page.goto(`${url}/ui/queue/embed?status=active`);
    await page.getByText('doc-g1-embed').first().waitFor({ state: 'visible', timeout: 15_000 });
    await page.getByText('42%').first().waitFor({ state: 'visible', timeout: 15_000 });
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: path.join(path.dirname(SCREENSHOT), 'board-progress.png'), fullPage: true });
    await context.close();
  });

  it('refuses queue and job actions in read-only mode (405) and allows them otherwise', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const embed = queues[STAGES.indexOf('embed')]!;
    const ro = await serve(true);
    const refused = await fetch(`${ro}/ui/api/queues/embed/pause`, { method: 'PUT', headers: auth });
    expect(refused.status).to.equal(405);
    expect(await embed.isPaused()).to.equal(false);
    const listed = (await (await fetch(`${ro}/ui/api/queues`, { headers: auth })).json()) as { queues: { readOnlyMode: boolean }[] };
    expect(listed.queues.map((q) => q.readOnlyMode)).to.deep.equal(STAGES.map(() => true));

    const rw = await serve(false);
    const foreign = await fetch(`${rw}/ui/api/queues/embed/pause`, { method: 'PUT', headers: { ...auth, origin: 'http://evil.example' } });
    expect(foreign.status, 'a cross-origin write is refused').to.equal(403);
    expect(await embed.isPaused()).to.equal(false);
    const paused = await fetch(`${rw}/ui/api/queues/embed/pause`, { method: 'PUT', headers: auth });
    expect(paused.status).to.be.within(200, 204);
    expect(await embed.isPaused()).to.equal(true);
    await embed.resume();
  });
});
