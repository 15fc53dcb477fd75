// Standing misbehaviour for the loopback OpenAI-compatible embedder of the chaos suite (issue 6, F16/F17):
// a token-bucket rate limit answering 429 + Retry-After, bursts of 503 and seeded random 500s, and garbage
// answers (wrong dimension, NaN, empty data, truncated JSON) for inputs that carry a marker.
import { DIMS, type Plan, type Seen } from '../../shared/test/contract/openai-fake.js';
// The benchmark's seeded PRNG (mulberry32): a failing fault schedule replays from its seed.
import { rng as seeded } from '../bench/corpus.js';

export type Outcome = 'ok' | '429' | '500' | '503';

/**
 * N requests per second (bucket of N tokens refilled continuously; a 429 does not take a token, as with
 * OpenAI's request limits), Retry-After in whole seconds (RFC 9110 delta-seconds); of the requests let
 * through, every `burstEvery`-th starts `burstLength` consecutive 503s, and `errorRate` of the rest get a 500.
 */
export class FlakyLimiter {
  readonly log: { at: number; outcome: Outcome }[] = [];
  private tokens: number;
  private last = Date.now();
  private admitted = 0;
  private burstLeft = 0;
  private readonly random: () => number;

  constructor(
    readonly limit: number,
    readonly seed: number,
    private readonly o: { burstEvery: number; burstLength: number; errorRate: number },
  ) {
    this.tokens = limit;
    this.random = seeded(seed);
  }

  readonly policy = (): Plan | undefined => {
    const now = Date.now();
    this.tokens = Math.min(this.limit, this.tokens + ((now - this.last) / 1000) * this.limit);
    this.last = now;
    const answer = (outcome: Outcome, plan?: Plan): Plan | undefined => { this.log.push({ at: now, outcome }); return plan; };
    if (this.tokens < 1) {
      const seconds = Math.ceil((1 - this.tokens) / this.limit);
      return answer('429', { kind: 'status', status: 429, headers: { 'retry-after': String(seconds) },
        body: JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }) });
    }
    this.tokens -= 1;
    this.admitted++;
    if (this.burstLeft === 0 && this.admitted % this.o.burstEvery === 0) this.burstLeft = this.o.burstLength;
    if (this.burstLeft > 0) {
      this.burstLeft--;
      return answer('503', { kind: 'status', status: 503, body: JSON.stringify({ error: { message: 'The server is overloaded' } }) });
    }
    if (this.random() < this.o.errorRate) return answer('500', { kind: 'status', status: 500 });
    return answer('ok');
  };

  count(outcome: Outcome): number {
    return this.log.filter((e) => e.outcome === outcome).length;
  }

  /** The most requests (of any outcome) the server saw in any window [t, t + 1 s). */
  maxPerSecond(): { max: number; at: number } {
    const t = this.log.map((e) => e.at).sort((a, b) => a - b);
    let best = { max: 0, at: 0 };
    for (let i = 0, j = 0; i < t.length; i++) {
      while (j < t.length && t[j]! < t[i]! + 1000) j++;
      if (j - i > best.max) best = { max: j - i, at: t[i]! };
    }
    return best;
  }
}

/** Input markers → garbage answers (each a 200, as a broken model server or proxy would send). */
export const GARBAGE = {
  'bad-dimension': 'zq-marker-dimension',
  'nan-vector': 'zq-marker-nan',
  'empty-data': 'zq-marker-empty',
  'truncated-json': 'zq-marker-truncated',
} as const;
export type Garbage = keyof typeof GARBAGE;

const answerBody = (n: number, value: string): string =>
  JSON.stringify({
    object: 'list',
    data: Array.from({ length: n }, (_, index) => ({ object: 'embedding', index, embedding: Array.from({ length: DIMS }, () => '@') })),
    model: 'm', usage: { prompt_tokens: 1, total_tokens: 1 },
  }).replaceAll('"@"', value);

export function garbagePolicy(seen: Map<Garbage, number>): (body: Seen['body']) => Plan | undefined {
  return (body) => {
    const input = body.input ?? [];
    const kind = (Object.keys(GARBAGE) as Garbage[]).find((k) => input.some((t) => t.includes(GARBAGE[k])));
    if (!kind) return undefined;
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    switch (kind) {
      case 'bad-dimension': return { kind: 'mutate', fn: (data) => data.map((d) => ({ ...d, embedding: d.embedding.slice(1) })) };
      // Python's json.dumps prints NaN for float('nan'): what a broken model server sends.
      case 'nan-vector': return { kind: 'raw', body: answerBody(input.length, '0.25').replace('0.25', 'NaN') };
      case 'empty-data': return { kind: 'mutate', fn: () => [] };
      // A well-framed 200 whose JSON stops half-way (a proxy's buffer limit, a crashed serializer).
      case 'truncated-json': { const full = answerBody(input.length, '0.25'); return { kind: 'raw', body: full.slice(0, Math.floor(full.length / 2)) }; }
    }
  };
}
