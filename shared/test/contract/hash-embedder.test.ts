/** The hashing embedder: the Embedder contract, plus its own tokenisation and weighting. */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { fnv1a32, HashEmbedder, tokenise } from '../../src/adapters/embedder/hash-embedder.js';
import { cosine, embedderContract } from './embedder.contract.js';

embedderContract('hash (384)', async () => new HashEmbedder());
embedderContract('hash (64)', async () => new HashEmbedder({ dimensions: 64 }));

describe('HashEmbedder', function () {
  const embedder = new HashEmbedder();

  it('stamps version hash-v1-<dimensions> and defaults to 384 dimensions', function () {
    expect(embedder.dimensions).to.equal(384);
    expect(embedder.version).to.equal('hash-v1-384');
    expect(new HashEmbedder({ dimensions: 1024 }).version).to.equal('hash-v1-1024');
    expect(() => new HashEmbedder({ dimensions: 0 })).to.throw(RangeError);
    expect(() => new HashEmbedder({ dimensions: 1.5 })).to.throw(RangeError);
  });

  it('returns L2-normalised vectors, also for empty and punctuation-only text', async function () {
    for (const v of await embedder.embed(['Some text about Redis.', '', '   ', '?!… —', 'x'])) {
      const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
      expect(norm).to.be.closeTo(1, 1e-9);
    }
  });

  it('tokenises lowercase words, keeping commands, flags, dotted and unicode words', function () {
    expect(tokenise('Run `redis-cli --PORT 6380 -h` and edit redis.conf, then: done.')).to.deep.equal([
      'run', 'redis-cli', '--port', '6380', '-h', 'and', 'edit', 'redis.conf', 'then', 'done',
    ]);
    expect(tokenise('Größe naïve café 東京 maxmemory_policy v1.2.3 x--y __init__ end. (a)')).to.deep.equal([
      'größe', 'naïve', 'café', '東京', 'maxmemory_policy', 'v1.2.3', 'x--y', 'init', 'end', 'a',
    ]);
    expect(tokenise('ﬁle ＡＢＣ')).to.deep.equal(['file', 'abc']); // NFKC
  });

  it('lets a query word meet the compound or flag that contains it', async function () {
    const [query, compound, unrelated] = await embedder.embed([
      'redis port',
      'redis-cli --port 6379',
      'bread oven flour water',
    ]);
    expect(cosine(query!, compound!)).to.be.greaterThan(0.25);
    expect(cosine(query!, compound!)).to.be.greaterThan(cosine(query!, unrelated!) + 0.2);
  });

  it('uses word order (bigrams) and sublinear term frequency', async function () {
    const [ab, ab2, ba, once, many] = await embedder.embed([
      'primary replica sync',
      'primary replica sync',
      'sync replica primary',
      'redis cluster',
      'redis redis redis redis redis redis redis redis cluster',
    ]);
    expect(cosine(ab!, ab2!)).to.be.closeTo(1, 1e-12);
    expect(cosine(ab!, ba!)).to.be.below(0.999);
    expect(cosine(ab!, ba!)).to.be.greaterThan(0.5);
    // 8× "redis" counts 1 + ln 8 ≈ 3.1 against "cluster" 1 (cosine ≈ 0.74); raw counts, 8 to 1, give ≈ 0.64.
    expect(cosine(once!, many!)).to.be.greaterThan(0.7);
  });

  it('gives function words little weight', async function () {
    const [a, b, c] = await embedder.embed([
      'the configuration of the server is in the file',
      'the weather of the day is in the news',
      'server configuration file',
    ]);
    expect(cosine(a!, c!)).to.be.greaterThan(cosine(a!, b!));
  });

  it('hashes with FNV-1a (mixed), stable across runs', function () {
    expect(fnv1a32('')).to.equal(fnv1a32(''));
    expect(fnv1a32('redis')).to.not.equal(fnv1a32('Redis'));
    expect(fnv1a32('u\u0001redis')).to.equal(fnv1a32('u\u0001redis'));
    // Pinned: a change here changes every stored vector and must bump the version.
    expect(embedder.embedOne('redis')).to.deep.equal(new HashEmbedder().embedOne('redis'));
    const pinned = new HashEmbedder({ dimensions: 8 }).embedOne('redis-cli --port');
    expect(pinned.map((x) => Math.round(x * 1e6) / 1e6)).to.deep.equal(PINNED_8);
  });

  it('keeps hash-v1 vectors bit for bit (a change of any bit must bump the version)', async function () {
    // The digest of these texts' vectors (Float64, in order) as hash-v1 produced them before embedOne
    // stopped building prefixed feature strings: the rewrite changed no bit, so stored points stay valid.
    const texts = ['', 'Install Redis on Linux', 'Run `redis-cli --port 6380 CONFIG SET maxmemory-policy allkeys-lru` and then the the of',
      '-v --verbose a.b.c __x__ ... x-y_z \u00dcn\u00efc\u00f6d\u00e9 \ufb01', 'config.yaml: v1.2 redis-server redis-server redis-server'];
    const digest = createHash('sha256');
    for (const v of await embedder.embed(texts)) digest.update(new Uint8Array(Float64Array.from(v).buffer));
    expect(digest.digest('hex')).to.equal('d07e821a4fda9a3a54529dd2889a44b59b2fe801616c78597d61b590c08ac506');
  });

  it('embeds ~3,000 sections of ~2 KB quickly', async function () {
    const words = 'redis cluster replica primary snapshot config port bind password module stream key value'.split(' ');
    const texts = Array.from({ length: 3000 }, (_, i) => Array.from({ length: 300 }, (_, w) => words[(w * 7 + i) % words.length]).join(' '));
    const started = performance.now();
    const vectors = await embedder.embed(texts);
    const ms = performance.now() - started;
    expect(vectors).to.have.length(3000);
    expect(ms).to.be.below(10_000);
  });
});

const PINNED_8 = [0.232119, -0.232119, 0, 0.464238, -0.789205, 0.232119, 0, 0];
