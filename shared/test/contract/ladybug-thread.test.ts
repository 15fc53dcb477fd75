/**
 * The embedded graph store as the runtime opens it: LadybugDB in a worker thread of its own
 * (ladybug-thread.ts). The whole GraphStore contract runs against it, plus what crossing a thread adds:
 * errors keep their kind and code, the one-store-per-file guard holds in the calling thread, and a dead
 * thread fails calls instead of leaving them waiting.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { LadybugGraphStore } from '../../src/adapters/graph/ladybug-graph-store.js';
import { LadybugThreadGraphStore } from '../../src/adapters/graph/ladybug-thread.js';
import { loadConfig } from '../../src/config/load-config.js';
import { PermanentError, RetryableError } from '../../src/errors/errors.js';
import { openGraphStore } from '../../src/runtime/stores.js';
import { ThreadClient } from '../../src/util/thread-rpc.js';
import { buildVersion, expectedCounts, graphStoreContract } from './graph-store.contract.js';
import { LADYBUG_TEST_OPTIONS, ladybugTestDirs } from './ladybug-test-dirs.js';

const OPTIONS = LADYBUG_TEST_OPTIONS;
const { fresh: freshDir, removeAll: removeDirs } = ladybugTestDirs('ladybug-thread-');

graphStoreContract('ladybug in a worker thread', () => LadybugThreadGraphStore.open(freshDir(), OPTIONS), removeDirs);

describe('LadybugThreadGraphStore', function () {
  this.timeout(30_000);
  let dir: string;
  let store: LadybugThreadGraphStore;
  const v = (n: number, generation: number) =>
    buildVersion({ tag: 'lt', uri: `cli://lt/${n}.md`, generation, sections: [{ path: ['A'], commands: ['redis-cli'] }, { path: ['A', 'B'] }] });

  beforeEach(async () => {
    dir = freshDir();
    store = await LadybugThreadGraphStore.open(dir, OPTIONS);
  });
  afterEach(async () => {
    await store?.close();
    await removeDirs();
  });

  it('is what the runtime opens for the embedded graph', async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir: freshDir() } });
    const opened = await openGraphStore(config);
    try {
      expect(opened).to.be.instanceOf(LadybugThreadGraphStore);
      expect(opened.kind).to.equal('ladybug');
    } finally {
      await opened.close();
    }
  });

  it('brings errors back with their kind and code', async () => {
    const bad = { ...v(1, 1), document: { ...v(1, 1).document, generation: 1.5 } };
    const invalid = await store.writeVersion(bad).then(() => null, (e: unknown) => e);
    expect(invalid).to.be.instanceOf(PermanentError);
    expect((invalid as PermanentError).code).to.equal('PAYLOAD_INVALID');
    const missing = await store.markCompleted(v(9, 1).document.id, 1, 'pv').then(() => null, (e: unknown) => e);
    expect(missing).to.be.instanceOf(PermanentError);
    expect((missing as PermanentError).code).to.equal('NOT_FOUND');
    expect((await store.counts()).documents).to.equal(0);
  });

  it('keeps one store per database file in this process, whichever kind opens it, and data across reopen', async () => {
    for (const open of [() => LadybugThreadGraphStore.open(dir, OPTIONS), () => LadybugGraphStore.open(dir, OPTIONS)]) {
      const error = await open().then(async (s) => { await s.close(); return null; }, (e: unknown) => e);
      expect(error).to.be.instanceOf(PermanentError);
    }
    await store.writeVersion(v(1, 1));
    await store.close();
    await store.close(); // idempotent
    expect(String(await store.counts().then(() => null, (e: unknown) => e))).to.match(/STORE_CLOSED/);
    store = await LadybugThreadGraphStore.open(dir, OPTIONS);
    expect(await store.counts(v(1, 1).document.id)).to.deep.equal(expectedCounts(v(1, 1)));
    expect(await store.mentionsOf(v(1, 1).sections[0]!.id)).to.be.instanceOf(Map).with.property('size', 1);
  });

  it('fails to open with the store error when the database cannot be created, and frees the file', async () => {
    const parent = path.join(freshDir(), 'not-a-dir');
    writeFileSync(parent, 'a file where the store directory should be');
    const error = await LadybugThreadGraphStore.open(path.join(parent, 'g'), OPTIONS).then(async (s) => { await s.close(); return null; }, (e: unknown) => e);
    expect(error).to.be.instanceOf(Error);
    expect(String(error)).to.not.match(/already open/);
    rmSync(parent);
    const reopened = await LadybugThreadGraphStore.open(path.join(parent, 'g'), OPTIONS);
    expect((await reopened.counts()).documents).to.equal(0);
    await reopened.close();
  });
});

describe('ThreadClient: a thread that dies', function () {
  it('fails the outstanding call and every later one with the owner\'s error', async () => {
    // A real worker thread that answers 'ping' and ends itself on 'die' without answering.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.on('message', (r) => r.method === 'die' ? process.exit(3) : parentPort.postMessage({ id: r.id, ok: true, value: 'pong' }));`,
      { eval: true },
    );
    const client = new ThreadClient(worker, (code) => new RetryableError('STORE_UNAVAILABLE', `thread exited with ${code}`));
    const uncloneable = await client.call('ping', [() => 1]).then(() => null, (e: unknown) => e);
    expect((uncloneable as PermanentError).code, 'arguments that cannot be cloned fail their call').to.equal('PAYLOAD_INVALID');
    expect(await client.call('ping', [])).to.equal('pong');
    const outstanding = await client.call('die', []).then(() => null, (e: unknown) => e);
    expect(outstanding).to.be.instanceOf(RetryableError);
    expect((outstanding as RetryableError).message).to.equal('thread exited with 3');
    expect(client.alive).to.equal(false);
    const later = await client.call('ping', []).then(() => null, (e: unknown) => e);
    expect((later as RetryableError).code).to.equal('STORE_UNAVAILABLE');
  });
});
