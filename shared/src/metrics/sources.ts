import type { Redis } from 'ioredis';
import type { IngestMetrics } from './metrics.js';

/** Hash of every source's status (field = source id, value = JSON `SourceStatus`), for `ingestctl status`. */
export const SOURCES_KEY = 'ingest:sources';

export const SOURCE_KINDS = ['fs', 's3', 'http'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
/** `ingest_watcher_events_total{source_kind,event}` events. */
export const SOURCE_EVENTS = ['admitted', 'unchanged', 'deleted', 'rejected', 'error', 'rescan'] as const;
export type SourceEvent = (typeof SOURCE_EVENTS)[number];

/** The event a submission's status counts as. */
export const sourceEventOf = (status: string): SourceEvent => (status === 'SKIPPED' ? 'unchanged' : status === 'REJECTED' ? 'rejected' : 'admitted');

export interface SourceStatus {
  readonly id: string;
  readonly kind: SourceKind;
  readonly tag: string;
  readonly location: string;
  /** ISO time of the last completed scan (fs: start or rescan; s3/http: poll), or null. */
  readonly last_scan_at: string | null;
  /** Items seen but not yet admitted. */
  readonly backlog: number;
  /** Errors since the source started. */
  readonly errors: number;
  readonly last_error: string | null;
  readonly last_error_at: string | null;
}

/** Newlines, ANSI escapes (ESC and C1) and bidi controls shown escaped (logs, CLI output). */
export const escapeControls = (s: string): string =>
  s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * One source's counters and status: every event increments `ingest_watcher_events_total`; the status is
 * written to Redis (best effort — a Redis hiccup never stops a source).
 */
export class SourceReporter {
  private status: { -readonly [K in keyof SourceStatus]: SourceStatus[K] };
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly redis: Redis, private readonly metrics: IngestMetrics, s: { kind: SourceKind; tag: string; location: string }) {
    this.status = { id: `${s.kind}:${s.tag}:${s.location}`, kind: s.kind, tag: s.tag, location: s.location, last_scan_at: null, backlog: 0, errors: 0, last_error: null, last_error_at: null };
    void this.flush();
  }

  get id(): string { return this.status.id; }
  get snapshot(): SourceStatus { return { ...this.status }; }

  event(event: SourceEvent, n = 1): void {
    if (n > 0) this.metrics.watcherEvents.inc({ source_kind: this.status.kind, event }, n);
  }

  error(message: string): void {
    this.event('error');
    this.status.errors++;
    this.status.last_error = message.slice(0, 500);
    this.status.last_error_at = new Date().toISOString();
    void this.flush();
  }

  scanned(backlog: number): void {
    this.status.last_scan_at = new Date().toISOString();
    this.status.backlog = Math.max(0, backlog);
    void this.flush();
  }

  setBacklog(backlog: number): void {
    this.status.backlog = Math.max(0, backlog);
    void this.flush();
  }

  /** Resolves when every status write so far has reached Redis (or failed). */
  flush(): Promise<unknown> {
    const json = JSON.stringify(this.status);
    this.writing = this.writing.then(() => this.redis.hset(SOURCES_KEY, this.status.id, json)).catch(() => undefined);
    return this.writing;
  }
}

/** Every recorded source, sorted by id. */
export async function readSources(redis: Redis): Promise<SourceStatus[]> {
  const all = await redis.hgetall(SOURCES_KEY);
  return Object.values(all).flatMap((v) => {
    try { return [JSON.parse(v) as SourceStatus]; } catch { return []; }
  }).sort((a, b) => a.id.localeCompare(b.id));
}
