import type { SectionRecord } from './shared.js';

export interface ParseOptions {
  readonly documentId: string;
  /** Canonical source URI (DESIGN §4); its file name is the title of last resort. */
  readonly sourceUri: string;
  /** Sections above this many tokens (≈ words) are split into parts at block boundaries. Default 800. */
  readonly maxSectionTokens?: number;
  /** Blockquote/list nesting above this fails with TOO_DEEP. Default 100. */
  readonly maxDepth?: number;
  /** Documents with more sections (parts included) fail with TOO_MANY_SECTIONS. Default 20000 (a 3 MB manual has ~9,000). */
  readonly maxSections?: number;
  /** Documents above this many UTF-8 bytes are parsed in segments split at headings. Default 65536. */
  readonly segmentBytes?: number;
}

export interface ParsedLink {
  readonly sectionId: string;
  /** The link destination as written (after Markdown unescaping), references resolved via their definition. */
  readonly url: string;
}

export interface ParsedDocument {
  readonly title: string;
  readonly description: string | null;
  readonly tags: string[];
  readonly sections: SectionRecord[];
  readonly links: ParsedLink[];
}

/**
 * A parse whose result the worker thread already wrote as the parse stage's artifact JSON
 * (`{title, description, tags, sections, links}`, the bytes `JSON.stringify` gives): the thread hands over
 * the bytes (transferred, not copied), so the stage process never rebuilds the section objects nor
 * serialises them again. A document without sections comes back as a ParsedDocument instead: the stage
 * gives it a section of its own (parse.stage.ts).
 */
export interface SerialisedParse {
  readonly title: string;
  readonly sectionCount: number;
  readonly json: Uint8Array;
}

export const PARSE_DEFAULTS = {
  maxSectionTokens: 800,
  maxDepth: 100,
  maxSections: 20000,
  segmentBytes: 65536,
} as const;

export interface ResolvedParseOptions {
  readonly documentId: string;
  readonly sourceUri: string;
  readonly maxSectionTokens: number;
  readonly maxDepth: number;
  readonly maxSections: number;
  readonly segmentBytes: number;
}

export function resolveParseOptions(opts: ParseOptions): ResolvedParseOptions {
  // Infinity is allowed (no parts / no segmenting); undefined or NaN take the default.
  const pick = (v: number | undefined, d: number, min: number): number =>
    v === undefined || Number.isNaN(v) ? d : v === Infinity ? Infinity : Math.max(min, Math.floor(v));
  return {
    documentId: opts.documentId,
    sourceUri: opts.sourceUri,
    maxSectionTokens: pick(opts.maxSectionTokens, PARSE_DEFAULTS.maxSectionTokens, 1),
    maxDepth: pick(opts.maxDepth, PARSE_DEFAULTS.maxDepth, 1),
    maxSections: pick(opts.maxSections, PARSE_DEFAULTS.maxSections, 1),
    segmentBytes: pick(opts.segmentBytes, PARSE_DEFAULTS.segmentBytes, 1),
  };
}

/** Options of a ParsePool (parse-pool.ts). */
export interface ParsePoolOptions {
  /** Worker threads (default 2). */
  readonly size?: number;
  /** Default per-job time limit (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** V8 old-generation heap cap per thread (default 512 MB). */
  readonly maxOldGenerationSizeMb?: number;
  /**
   * V8 young-generation cap per thread (default 48 MB). A 12 MB cap was chosen when a segment was 64 KB:
   * its tree outlived a small nursery's collections, was promoted, and a 3 MB document took the process to
   * ~390 MB. Pieces are 16 KB now (parse-markdown.ts), their trees die young in either nursery, and the
   * small one only made the collector work harder: V8's GC helper threads used 2.2-3.3 s of CPU per 3 MB
   * parse at 12 MB against 1.0-1.6 s at 32 MB, on a 2-core machine where they compete with the two parse
   * threads. Measured as `up --processes` runs it, interleaved, 12 / 32 / 48 MB: the 3 MB document's parse
   * 5.25-5.74 / 3.82-4.68 / 3.39-4.09 s, the parse process's peak RSS 193-207 MB whatever the cap; 200
   * small documents, closed loop: the same throughput (median 16.6 / 17.3 docs/s at 12 / 48) and RSS.
   * Those runs still had the compute processes' --max-semi-space-size=4 overriding the cap (parse-pool.ts
   * now clears it for threads); with the 48 MB cap in force the parse stage took 1.8-2.1 s and the parse
   * process peaked at 229-238 MB.
   */
  readonly maxYoungGenerationSizeMb?: number;
  /**
   * Threads kept running while the pool is idle (default: size). Threads above it start when a job waits
   * for one and stop after `idleMs` without work: a thread is ~30 MB before its first job and keeps the
   * heap its biggest job grew.
   */
  readonly warmThreads?: number;
  /** How long a thread above warmThreads may sit idle (default 10 000 ms). */
  readonly idleMs?: number;
  /**
   * Parse a big document's two halves on two threads at once (default true). Off, it takes one thread:
   * slower where two cores are free, but the second thread and the pieces copied between threads cost a
   * 3 MB document's process ~50 MB at its peak (issue 7 holds a compute process to 256 MB).
   */
  readonly splitBigDocuments?: boolean;
}

export interface ParseJobOptions {
  /** Overrides the pool's timeout for this job. */
  readonly timeoutMs?: number;
  /** Aborting rejects the job with the signal's reason (terminating its thread if it is running). */
  readonly signal?: AbortSignal;
}
