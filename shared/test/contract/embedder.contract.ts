/**
 * The Embedder contract (shared/src/ports/embedder.ts), run against every implementation (the hashing
 * embedder always; an HTTP embedder against a server when one answers).
 */
import { expect } from 'chai';
import type { Embedder } from '../../src/ports/embedder.js';

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, it resolved');
}

const TEXTS = [
  'Install Redis with the package manager, then start redis-server.',
  'Configure replication: point the replica at the primary with REPLICAOF.',
  'Bake the bread at 220 degrees for thirty minutes until golden.',
  'Zäune aus Holz — naïve café 東京 🙂',
];

export function embedderContract(name: string, create: () => Promise<Embedder>): void {
  describe(`Embedder contract: ${name}`, function () {
    let embedder: Embedder;

    beforeEach(async function () {
      embedder = await create();
    });

    afterEach(async function () {
      await embedder?.close();
    });

    it('names its version and dimensions', function () {
      expect(embedder.version).to.be.a('string').and.not.equal('');
      expect(embedder.dimensions).to.be.a('number');
      expect(Number.isInteger(embedder.dimensions) && embedder.dimensions > 0).to.equal(true);
    });

    it('returns one vector per text, in order, of `dimensions` finite numbers', async function () {
      const vectors = await embedder.embed(TEXTS);
      expect(vectors).to.have.length(TEXTS.length);
      for (const v of vectors) {
        expect(v).to.have.length(embedder.dimensions);
        expect(v.every((x) => typeof x === 'number' && Number.isFinite(x))).to.equal(true);
        expect(v.some((x) => x !== 0), 'an all-zero vector has no direction').to.equal(true);
      }
      // In order: each text's vector equals the one it gets alone.
      for (let i = 0; i < TEXTS.length; i++) {
        const [alone] = await embedder.embed([TEXTS[i]!]);
        expect(cosine(alone!, vectors[i]!)).to.be.closeTo(1, 1e-5);
      }
      expect(await embedder.embed([])).to.deep.equal([]);
    });

    it('is deterministic: the same text gives the same vector', async function () {
      const a = await embedder.embed(TEXTS);
      const b = await embedder.embed([...TEXTS].reverse());
      b.reverse();
      for (let i = 0; i < TEXTS.length; i++) {
        a[i]!.forEach((x, d) => expect(b[i]![d]).to.be.closeTo(x, 1e-6));
      }
    });

    it('gives similar texts a higher cosine similarity than unrelated ones', async function () {
      const [redis, redisAgain, bread, replication, replicationAgain] = await embedder.embed([
        'How to install Redis server on Linux with the package manager',
        'Installing the Redis server package on a Linux host',
        'Bake the sourdough bread in a hot oven for thirty minutes',
        'Set up replication so the replica follows the primary',
        'The replica follows the primary once replication is set up',
      ]);
      expect(cosine(redis!, redisAgain!)).to.be.greaterThan(cosine(redis!, bread!));
      expect(cosine(replication!, replicationAgain!)).to.be.greaterThan(cosine(replication!, bread!));
      expect(cosine(redis!, redisAgain!)).to.be.greaterThan(cosine(redisAgain!, bread!));
    });

    it('rejects when the signal is already aborted', async function () {
      const controller = new AbortController();
      controller.abort(new Error('cancelled by test'));
      const error = await rejection(embedder.embed(TEXTS, { signal: controller.signal }));
      expect(error).to.be.instanceOf(Error);
    });

    it('rejects when the signal is aborted while it works', async function () {
      const controller = new AbortController();
      const many = Array.from({ length: 5000 }, (_, i) => `${TEXTS[i % TEXTS.length]} variant ${i}`);
      const pending = embedder.embed(many, { signal: controller.signal });
      controller.abort(new Error('cancelled by test'));
      const error = await rejection(pending);
      expect(error).to.be.instanceOf(Error);
    });
  });
}
