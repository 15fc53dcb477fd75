/**
 * The HTTP embedder against a real HTTP server on 127.0.0.1 that speaks the OpenAI embeddings protocol
 * (vectors from the hashing embedder, so similar texts really are similar): the Embedder contract, then
 * the protocol edges — batching, the Bearer key, 429 with Retry-After, 5xx bursts, timeouts, wrong
 * dimensions, NaN, 4xx.
 */
import { expect } from 'chai';
import { HashEmbedder } from '../../src/adapters/embedder/hash-embedder.js';
import { HttpEmbedder, retryAfterMs, type HttpEmbedderOptions } from '../../src/adapters/embedder/http-embedder.js';
import { ErrorCode, PermanentError, PipelineError, RateLimitedError, RetryableError } from '../../src/errors/errors.js';
import { embedderContract } from './embedder.contract.js';
import { API_KEY, DIMS, FakeOpenAI, MODEL, type Plan } from './openai-fake.js';

const server = new FakeOpenAI();
const open = (o: Partial<HttpEmbedderOptions> = {}): HttpEmbedder =>
  new HttpEmbedder({ url: server.url, model: MODEL, dimensions: DIMS, apiKey: API_KEY, backoffMs: 5, maxBackoffMs: 20, ...o });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, it resolved');
}

describe('HttpEmbedder (OpenAI-compatible server on 127.0.0.1)', function () {
  before(async () => server.start());
  after(async () => server.stop());
  beforeEach(() => {
    server.plans.length = 0;
    server.seen.length = 0;
  });

  embedderContract(`http (${MODEL}, ${DIMS})`, async () => open({ batchSize: 16 }));

  it('posts model, input and the Bearer key to {url}/embeddings; version is <model>-<dimensions>', async () => {
    const e = open();
    expect(e.version).to.equal(`${MODEL}-${DIMS}`);
    expect(e.dimensions).to.equal(DIMS);
    const [v] = await e.embed(['hello world']);
    expect(v).to.deep.equal(new HashEmbedder({ dimensions: DIMS }).embedOne('hello world'));
    expect(server.seen).to.have.length(1);
    expect(server.seen[0]).to.deep.include({ authorization: `Bearer ${API_KEY}`, path: '/v1/embeddings' });
    expect(server.seen[0]!.body).to.deep.equal({ model: MODEL, input: ['hello world'], encoding_format: 'float' });
    await open({ requestDimensions: true }).embed(['x']);
    expect(server.seen[1]!.body.dimensions).to.equal(DIMS);
  });

  it('splits inputs into batches and returns vectors in input order', async () => {
    const texts = Array.from({ length: 25 }, (_, i) => `text number ${i} about redis`);
    const vectors = await open({ batchSize: 10 }).embed(texts);
    expect(server.seen.map((s) => s.body.input!.length)).to.deep.equal([10, 10, 5]);
    const local = new HashEmbedder({ dimensions: DIMS });
    vectors.forEach((v, i) => expect(v).to.deep.equal(local.embedOne(texts[i]!)));
  });

  it('429 with Retry-After → RateLimitedError carrying the delay, without retrying itself', async () => {
    server.plans.push({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const error = await rejection(open().embed(['a']));
    expect(error).to.be.instanceOf(RateLimitedError);
    expect(error).to.be.instanceOf(RetryableError);
    expect((error as RateLimitedError).retryAfterMs).to.equal(7000);
    expect((error as RateLimitedError).code).to.equal(ErrorCode.RateLimited);
    expect(server.seen).to.have.length(1);

    server.plans.push({ kind: 'status', status: 429, headers: { 'retry-after-ms': '1500', 'retry-after': '9' } });
    expect(((await rejection(open().embed(['a']))) as RateLimitedError).retryAfterMs).to.equal(1500);
    server.plans.push({ kind: 'status', status: 429 });
    expect(((await rejection(open({ defaultRetryAfterMs: 2500 }).embed(['a']))) as RateLimitedError).retryAfterMs).to.equal(2500);
    // and the next request goes through
    expect(await open().embed(['a'])).to.have.length(1);
  });

  it('parses Retry-After as seconds or an HTTP date, bounded', () => {
    const h = (o: Record<string, string>): Headers => new Headers(o);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs(h({ 'retry-after': '3' }), now)).to.equal(3000);
    expect(retryAfterMs(h({ 'retry-after': '0.5' }), now)).to.equal(500);
    expect(retryAfterMs(h({ 'retry-after': 'Wed, 01 Jan 2025 00:00:20 GMT' }), now)).to.equal(20_000);
    expect(retryAfterMs(h({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }), now)).to.equal(0);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }), now)).to.equal(null);
    expect(retryAfterMs(h({}), now)).to.equal(null);
    expect(retryAfterMs(h({ 'retry-after': '99999999' }), now)).to.equal(600_000);
  });

  it('retries a burst of 5xx with backoff and succeeds', async () => {
    server.plans.push({ kind: 'status', status: 503 }, { kind: 'status', status: 500 }, { kind: 'status', status: 502 });
    const [v] = await open({ maxRetries: 3 }).embed(['survives']);
    expect(v).to.have.length(DIMS);
    expect(server.seen).to.have.length(4);
  });

  it('gives up after maxRetries 5xx with a RetryableError (the job retries later)', async () => {
    for (let i = 0; i < 5; i++) server.plans.push({ kind: 'status', status: 503, body: `overloaded, key ${API_KEY}` });
    const error = await rejection(open({ maxRetries: 2 }).embed(['a']));
    expect(error).to.be.instanceOf(RetryableError);
    expect(error).to.not.be.instanceOf(RateLimitedError);
    expect((error as PipelineError).code).to.equal(ErrorCode.EmbedderUnavailable);
    expect((error as Error).message).to.match(/503/).and.not.include(API_KEY);
    expect(server.seen).to.have.length(3);
  });

  it('times out a request that never answers, retries, then fails retryably', async () => {
    server.plans.push({ kind: 'hang' }, { kind: 'hang' });
    const started = Date.now();
    const error = await rejection(open({ timeoutMs: 150, maxRetries: 1 }).embed(['a']));
    expect(error).to.be.instanceOf(RetryableError);
    expect((error as Error).message).to.match(/no answer within 150 ms/);
    expect(Date.now() - started).to.be.below(5000);
    server.plans.push({ kind: 'hang' });
    expect(await open({ timeoutMs: 150, maxRetries: 1 }).embed(['b'])).to.have.length(1);
  });

  it('aborting the signal aborts the request in flight and the backoff wait', async () => {
    server.plans.push({ kind: 'hang' });
    const controller = new AbortController();
    const pending = open({ timeoutMs: 60_000 }).embed(['a'], { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancelled by test')), 50);
    expect(((await rejection(pending)) as Error).message).to.equal('cancelled by test');

    for (let i = 0; i < 3; i++) server.plans.push({ kind: 'status', status: 503 });
    const c2 = new AbortController();
    const waiting = open({ backoffMs: 60_000, maxBackoffMs: 60_000 }).embed(['a'], { signal: c2.signal });
    setTimeout(() => c2.abort(new Error('cancelled during backoff')), 100);
    expect(((await rejection(waiting)) as Error).message).to.equal('cancelled during backoff');
  });

  it('wrong dimensions → PermanentError(BAD_EMBEDDING)', async () => {
    server.plans.push({ kind: 'mutate', fn: (data) => data.map((d) => ({ ...d, embedding: d.embedding.slice(1) })) });
    const error = await rejection(open().embed(['a', 'b']));
    expect(error).to.be.instanceOf(PermanentError);
    expect((error as PermanentError).code).to.equal(ErrorCode.BadEmbedding);
    expect((error as Error).message).to.match(/63 dimensions, 64 were configured/);
  });

  it('NaN (bare, as the server printed it) or a non-number → PermanentError(BAD_EMBEDDING)', async () => {
    const vector = Array.from({ length: DIMS }, (_, i) => (i === 3 ? 'NaN' : '0.1')).join(',');
    server.plans.push({ kind: 'raw', body: `{"data":[{"index":0,"embedding":[${vector}]}]}` });
    let error = await rejection(open().embed(['a']));
    expect(error).to.be.instanceOf(PermanentError);
    expect((error as PermanentError).code).to.equal(ErrorCode.BadEmbedding);

    for (const bad of [null, 'NaN', '1.0', Number.POSITIVE_INFINITY]) {
      server.plans.push({ kind: 'mutate', fn: (data) => data.map((d) => ({ ...d, embedding: d.embedding.map((x, i) => (i === 0 ? bad : x)) })) });
      error = await rejection(open().embed(['a']));
      expect(error, String(bad)).to.be.instanceOf(PermanentError);
      expect((error as PermanentError).code).to.equal(ErrorCode.BadEmbedding);
    }
  });

  it('the wrong number of vectors, duplicate indexes or no data → PermanentError(BAD_EMBEDDING)', async () => {
    const plans: Plan[] = [
      { kind: 'mutate', fn: (data) => data.slice(1) },
      { kind: 'mutate', fn: (data) => data.map((d) => ({ ...d, index: 0 })) },
      { kind: 'raw', body: '{"object":"list"}' },
      { kind: 'mutate', fn: (data) => data.map((d) => ({ ...d, embedding: d.embedding.map(() => 0) })) },
    ];
    for (const plan of plans) {
      server.plans.push(plan);
      const error = await rejection(open().embed(['a', 'b']));
      expect(error).to.be.instanceOf(PermanentError);
      expect((error as PermanentError).code).to.equal(ErrorCode.BadEmbedding);
    }
  });

  it('a bad key or a 4xx is permanent, and the key never appears in the error', async () => {
    const error = await rejection(open({ apiKey: 'sk-wrong-key' }).embed(['a']));
    expect(error).to.be.instanceOf(PermanentError);
    expect((error as PermanentError).code).to.equal(ErrorCode.Unauthorized);
    expect(JSON.stringify({ m: (error as Error).message, s: (error as Error).stack })).to.not.include('sk-wrong-key');
    server.plans.push({ kind: 'status', status: 400, body: `{"error":{"message":"model not found; Authorization: Bearer ${API_KEY}"}}` });
    const e400 = await rejection(open().embed(['a']));
    expect(e400).to.be.instanceOf(PermanentError);
    expect((e400 as Error).message).to.match(/HTTP 400/).and.not.include(API_KEY);
    expect(server.seen).to.have.length(2);
  });

  it('a server that is not there is retryable', async () => {
    const gone = new FakeOpenAI();
    await gone.start();
    const url = gone.url;
    await gone.stop();
    const error = await rejection(new HttpEmbedder({ url, model: MODEL, dimensions: DIMS, maxRetries: 1, backoffMs: 1 }).embed(['a']));
    expect(error).to.be.instanceOf(RetryableError);
    expect((error as PipelineError).code).to.equal(ErrorCode.EmbedderUnavailable);
  });

  it('refuses bad settings up front and rejects calls after close', async () => {
    expect(() => new HttpEmbedder({ url: 'not a url', model: MODEL, dimensions: DIMS })).to.throw(PermanentError);
    expect(() => new HttpEmbedder({ url: 'ftp://x/v1', model: MODEL, dimensions: DIMS })).to.throw(PermanentError);
    expect(() => new HttpEmbedder({ url: 'http://u:p@127.0.0.1/v1', model: MODEL, dimensions: DIMS })).to.throw(PermanentError);
    expect(() => new HttpEmbedder({ url: server.url, model: '', dimensions: DIMS })).to.throw(PermanentError);
    expect(() => new HttpEmbedder({ url: server.url, model: MODEL, dimensions: 0 })).to.throw(PermanentError);
    const e = open();
    await e.close();
    expect(await rejection(e.embed(['a']))).to.be.instanceOf(RetryableError);
  });
});
