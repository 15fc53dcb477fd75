/**
 * Deterministic hashing embedder (DESIGN §3: the embedded default, no model download).
 *
 * Text → lowercase tokens → features (unigrams, bigrams) → signed feature hashing into `dimensions`
 * buckets → sublinear tf weights → L2 normalisation. Texts sharing words and word pairs get a high
 * cosine similarity; unrelated texts land near 0. It knows nothing about meaning (no synonyms), which
 * is what the lexical leg and the graph make up for.
 *
 * Tokens: runs of Unicode letters, marks and digits, joined by inner `-`, `_` or `.` (`redis-cli`,
 * `maxmemory-policy`, `config.yaml`, `v1.2`), with one or two leading dashes kept when the token starts
 * a word (`--flag`, `-v`). A compound token also emits its parts (`redis-cli` → `redis`, `cli`) and a
 * flag its bare name (`--port` → `port`), so a query for `redis` still meets `redis-cli`.
 *
 * Bumping anything that changes vectors must bump PREPROCESSING_VERSION (it is part of `version`,
 * which is the embedding_version stamped on every stored point).
 */
import type { Embedder } from '../../ports/embedder.js';

const PREPROCESSING_VERSION = 'v1';

/** Function words weigh little: they make unrelated prose look alike. */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can do does for from has have how if in into is it its no not of on ' +
    'or so such that the their then there these this to was we were what when where which will with ' +
    'you your'
  ).split(' '),
);
const STOP_WEIGHT = 0.15;
const PART_WEIGHT = 0.5;
const BIGRAM_WEIGHT = 0.7;
/** Texts embedded between two yields to the event loop (so an abort or other work gets a turn). */
const YIELD_EVERY = 64;

const TOKEN = /(?<![\p{L}\p{M}\p{N}])(-{1,2})?([\p{L}\p{N}][\p{L}\p{M}\p{N}]*(?:[-_.]+[\p{L}\p{M}\p{N}]+)*)/gu;
const PART_SPLIT = /[-_.]+/;

export interface HashEmbedderOptions {
  readonly dimensions?: number;
}

const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a's state after `text` (UTF-16 code units), starting from `h`. */
function fnvUpdate(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** murmur3's fmix32, so low bits are well mixed. */
function fnvFinish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 so low bits are well mixed. */
export function fnv1a32(text: string): number {
  return fnvFinish(fnvUpdate(FNV_OFFSET, text));
}

const UNIGRAM_PREFIX_STATE = fnvUpdate(FNV_OFFSET, 'u\u0001');
const BIGRAM_PREFIX_STATE = fnvUpdate(FNV_OFFSET, 'b\u0001');
const EMPTY_FEATURE_HASH = fnv1a32('e\u0001empty');
const DASH = 0x2d;
const HAS_PART_SEPARATOR = /[-_.]/;

/**
 * Features of one text in first-seen order: occurrences, and the weight per occurrence (the largest
 * seen). A unigram key never holds U+0002 and a bigram key always does, so one map holds both.
 */
class FeatureCounts {
  readonly keys: string[] = [];
  readonly isBigram: boolean[] = [];
  readonly hits: number[] = [];
  readonly weights: number[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.keys.length;
  }

  add(key: string, isBigram: boolean, weight: number): void {
    const i = this.index.get(key);
    if (i === undefined) {
      this.index.set(key, this.keys.length);
      this.keys.push(key);
      this.isBigram.push(isBigram);
      this.hits.push(1);
      this.weights.push(weight);
      return;
    }
    this.hits[i]! += 1;
    if (weight > this.weights[i]!) this.weights[i] = weight;
  }
}

/** Primary tokens in order (flags and compounds kept whole), lowercased after NFKC. */
export function tokenise(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(TOKEN)) {
    out.push(m[0]); // the optional dashes and the word: the lookbehind takes no characters
  }
  return out;
}

export class HashEmbedder implements Embedder {
  readonly dimensions: number;
  readonly version: string;

  constructor(options: HashEmbedderOptions = {}) {
    const dimensions = options.dimensions ?? 384;
    if (!Number.isInteger(dimensions) || dimensions < 2 || dimensions > 65536) {
      throw new RangeError(`HashEmbedder: dimensions must be an integer in [2, 65536], got ${dimensions}`);
    }
    this.dimensions = dimensions;
    this.version = `hash-${PREPROCESSING_VERSION}-${dimensions}`;
  }

  async embed(texts: readonly string[], options: { signal?: AbortSignal } = {}): Promise<number[][]> {
    const { signal } = options;
    signal?.throwIfAborted();
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i++) {
      if (i > 0 && i % YIELD_EVERY === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        signal?.throwIfAborted();
      }
      out.push(this.embedOne(texts[i] ?? ''));
    }
    return out;
  }

  /**
   * Synchronous single-text embedding (the vector `embed` returns for this text). A feature is kept by
   * its text without its namespace prefix (`u\u0001` unigrams, `b\u0001` bigrams) and hashed by carrying
   * on from the prefix's FNV state, so no prefixed string is built per token; insertion order, and with
   * it the order of the floating-point sums, is the same as when the prefixed strings were the keys. The
   * vectors are bit for bit the same (checked on the 3 MB bench document's 9,213 sections and the
   * redis-docs pages), a third faster.
   */
  embedOne(text: string): number[] {
    const features = new FeatureCounts();
    let previous: string | undefined;
    let previousIsStop = false;
    for (const token of tokenise(text)) {
      const isStop = STOP_WORDS.has(token);
      features.add(token, false, isStop ? STOP_WEIGHT : 1);
      const bare = token.charCodeAt(0) === DASH ? token.replace(/^-+/, '') : token;
      if (bare !== token) features.add(bare, false, PART_WEIGHT);
      if (HAS_PART_SEPARATOR.test(bare)) {
        const parts = bare.split(PART_SPLIT);
        if (parts.length > 1) {
          for (const part of parts) if (part) features.add(part, false, STOP_WORDS.has(part) ? STOP_WEIGHT : PART_WEIGHT);
        }
      }
      if (previous !== undefined && !(previousIsStop && isStop)) features.add(`${previous}\u0002${token}`, true, BIGRAM_WEIGHT);
      previous = token;
      previousIsStop = isStop;
    }

    const vector = new Float64Array(this.dimensions);
    const addFeature = (h: number, hits: number, weight: number): void => {
      const bucket = h % this.dimensions;
      // The sign comes from high bits, which the bucket of a power-of-two size never uses.
      const sign = ((h >>> 31) ^ ((h >>> 23) & 1)) === 1 ? -1 : 1;
      // Sublinear tf: n occurrences count 1 + ln n, not n.
      vector[bucket]! += sign * weight * (1 + Math.log(hits));
    };
    // A text without tokens still gets a unit vector (a zero vector has no cosine with anything).
    if (features.size === 0) addFeature(EMPTY_FEATURE_HASH, 1, 1);
    for (let i = 0; i < features.size; i++) {
      addFeature(fnvFinish(fnvUpdate(features.isBigram[i] ? BIGRAM_PREFIX_STATE : UNIGRAM_PREFIX_STATE, features.keys[i]!)), features.hits[i]!, features.weights[i]!);
    }
    let norm = 0;
    for (let i = 0; i < vector.length; i++) norm += vector[i]! * vector[i]!;
    norm = Math.sqrt(norm);
    const result = new Array<number>(this.dimensions);
    // Colliding features of opposite signs can cancel out exactly; fall back to the empty-text vector then.
    if (norm === 0) return this.embedOne('');
    for (let i = 0; i < vector.length; i++) result[i] = vector[i]! / norm;
    return result;
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
