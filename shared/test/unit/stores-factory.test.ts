/** The store factory (shared/src/runtime/stores.ts) picks and configures the production adapters from config + env. */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { HttpEmbedder } from '../../src/adapters/embedder/http-embedder.js';
import { loadConfig } from '../../src/config/load-config.js';
import { PipelineError, RetryableError } from '../../src/errors/errors.js';
import { createEmbedder, openGraphStore, openVectorStore } from '../../src/runtime/stores.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('store factory: production adapters from config and environment', function () {
  it('EMBEDDER_URL/MODEL/DIMENSIONS/API_KEY make an HTTP embedder whose version is <model>-<dimensions>', () => {
    const config = loadConfig({
      env: { EMBEDDER_URL: 'http://127.0.0.1:1/v1', EMBEDDER_MODEL: 'nomic-embed-text', EMBEDDER_DIMENSIONS: '768', EMBEDDER_API_KEY: 'sk-x' },
    });
    expect(config.embedder).to.include({ kind: 'http', model: 'nomic-embed-text', dimensions: 768 });
    const embedder = createEmbedder(config);
    expect(embedder).to.be.instanceOf(HttpEmbedder);
    expect(embedder.version).to.equal('nomic-embed-text-768');
    expect(embedder.dimensions).to.equal(768);
    expect(JSON.stringify(config.embedder)).to.not.include('sk-x'); // the key lives in secrets only
  });

  it('an http embedder without a model, or a store without its URL, refuses to start and names the variable', async () => {
    expect(() => createEmbedder(loadConfig({ env: { EMBEDDER_URL: 'http://127.0.0.1:1/v1' } }))).to.throw(/EMBEDDER_MODEL/);
    const neo = loadConfig({ env: {}, overrides: { graph: { kind: 'neo4j' } } });
    expect(await openGraphStore(neo).then(() => null, (e: Error) => e.message)).to.match(/NEO4J_URI/);
    const qd = loadConfig({ env: {}, overrides: { vector: { kind: 'qdrant' } } });
    expect(await openVectorStore(qd).then(() => null, (e: Error) => e.message)).to.match(/QDRANT_URL/);
  });

  it('NEO4J_URI / QDRANT_URL select the production stores; an unreachable one is a retryable STORE_UNAVAILABLE', async function () {
    this.timeout(60_000);
    const port = await closedPort();
    const config = loadConfig({
      env: { NEO4J_URI: `bolt://127.0.0.1:${port}`, NEO4J_USER: 'neo4j', NEO4J_PASSWORD: 'secret-pw', QDRANT_URL: `http://127.0.0.1:${port}` },
      overrides: { graph: { neo4j: { maxTransactionRetryTimeMs: 1000 } } },
    });
    expect(config.graph.kind).to.equal('neo4j');
    expect(config.vector.kind).to.equal('qdrant');
    for (const open of [() => openGraphStore(config), () => openVectorStore(config)]) {
      const error = await open().then(() => null, (e: unknown) => e);
      expect(error).to.be.instanceOf(RetryableError);
      expect((error as PipelineError).code).to.equal('STORE_UNAVAILABLE');
      expect((error as Error).message).to.not.include('secret-pw');
    }
  });
});
