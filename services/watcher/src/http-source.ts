import { createHash } from 'node:crypto';
import {
  contentTypeOf, DEFAULT_GUARD, describeError, escapeControls, sourceUri as canonical, SourceReporter, sourceEventOf, TombstoneGuard, type GuardSettings, type Runtime,
} from '@ingest/shared';
import { allowListFrom, checkUrl, guardedFetch, type AllowList, type FetchOptions } from './ssrf.js';

export interface HttpSourceOptions {
  /** The JSON listing `[{url, etag?, last_modified?}]`. */
  readonly url: string;
  readonly tag: string;
  /** 0 = no timer: polls only through `pollOnce()` (tests). */
  readonly pollIntervalMs: number;
  /** Hosts/CIDRs exempt from the SSRF guard (INGEST_HTTP_ALLOW is added unless `allowList` is given). */
  readonly allow?: readonly string[];
  readonly allowList?: AllowList;
  readonly maxBytes?: number;
  readonly listingMaxBytes?: number;
  readonly timeoutMs?: number;
  readonly maxRedirects?: number;
  readonly guard?: GuardSettings;
  /** Test hook: every address decision. */
  readonly onDecision?: FetchOptions['onDecision'];
}

export interface HttpPollStats {
  readonly listed: number;
  readonly fetched: number;
  readonly notModified: number;
  readonly submitted: number;
  readonly tombstoned: number;
  /** Tombstones held by the mass-delete guard (scan id), or null. */
  readonly heldScan: string | null;
  readonly errors: number;
  /** The listing itself could not be read: nothing was tombstoned. */
  readonly listingError: string | null;
}

export interface HttpSource {
  pollOnce(): Promise<HttpPollStats>;
  close(): Promise<void>;
  readonly stateKey: string;
  readonly reporter: SourceReporter;
}

interface EntryState { etag?: string; last_modified?: string }
interface ListingEntry { url: string; etag?: string; last_modified?: string }

function parseListing(body: Buffer, base: string): ListingEntry[] {
  const data = JSON.parse(body.toString('utf8')) as unknown;
  if (!Array.isArray(data)) throw new Error('the listing is not a JSON array');
  const entries: ListingEntry[] = [];
  for (const e of data) {
    if (!e || typeof e !== 'object' || typeof (e as { url?: unknown }).url !== 'string') continue;
    const o = e as { url: string; etag?: unknown; last_modified?: unknown };
    let url: string;
    try { url = new URL(o.url, base).toString(); } catch { continue; }
    entries.push({ url, ...(typeof o.etag === 'string' ? { etag: o.etag } : {}), ...(typeof o.last_modified === 'string' ? { last_modified: o.last_modified } : {}) });
  }
  return entries;
}

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * The HTTP listing source (DESIGN §8): polls a JSON listing, fetches each entry with a conditional GET
 * (If-None-Match / If-Modified-Since from the last response; 304 = unchanged) through the SSRF guard,
 * submits changed documents under the canonical URI (no query string: presigned URLs are one document),
 * and turns entries gone from the listing into tombstones through the mass-delete guard. Per-entry state
 * lives in Redis, so a restart sends conditional requests and re-admits nothing unchanged.
 */
export function startHttpSource(rt: Runtime, o: HttpSourceOptions): HttpSource {
  const listingUri = canonical.http(o.url);
  const stateKey = `ingest:http-source:${createHash('sha256').update(`${o.tag}\u241f${listingUri}`).digest('hex').slice(0, 32)}`;
  const allow = o.allowList ?? allowListFrom(o.allow ?? rt.config.httpSource?.allow ?? []);
  // The listing URL itself is refused up front (scheme, plain http, denied IP literal).
  checkUrl(new URL(o.url), allow);
  const cfg = rt.config.httpSource;
  const base = { allow, timeoutMs: o.timeoutMs ?? cfg?.timeoutMs ?? 30_000, maxRedirects: o.maxRedirects ?? cfg?.maxRedirects ?? 5, ...(o.onDecision ? { onDecision: o.onDecision } : {}) };
  const docMax = o.maxBytes ?? cfg?.maxBytes ?? rt.config.admission.maxBytes;
  const listingMax = o.listingMaxBytes ?? cfg?.listingMaxBytes ?? 5 * 1024 * 1024;
  const guard = new TombstoneGuard(rt.redis, rt.pipeline, o.guard ?? rt.config.deleteGuard ?? DEFAULT_GUARD);
  const log = rt.logger.child({ source: 'http', tag: escapeControls(o.tag), listing: escapeControls(listingUri) });
  const reporter = new SourceReporter(rt.redis, rt.metrics, { kind: 'http', tag: o.tag, location: listingUri });

  const pollOnce = async (): Promise<HttpPollStats> => {
    const stats = { listed: 0, fetched: 0, notModified: 0, submitted: 0, tombstoned: 0, heldScan: null as string | null, errors: 0, listingError: null as string | null };
    let entries: ListingEntry[];
    try {
      const r = await guardedFetch(o.url, { ...base, maxBytes: listingMax, headers: { accept: 'application/json' } });
      if (r.status !== 200) throw new Error(`listing answered HTTP ${r.status}`);
      entries = parseListing(r.body, r.url);
    } catch (error) {
      const d = describeError(error);
      reporter.error(`listing: ${d.message}`);
      log.error('listing not read', d);
      return { ...stats, listingError: `${d.code}: ${d.message}` };
    }
    stats.listed = entries.length;
    const state = await rt.redis.hgetall(stateKey);
    const present = new Set<string>();
    for (const e of entries) {
      const uri = canonical.http(e.url);
      if (present.has(uri)) continue;
      present.add(uri);
      const prev = state[uri] ? (JSON.parse(state[uri]) as EntryState) : null;
      // Conditional only while the ledger holds (or is running) a version: a failed one is fetched again.
      const ledgerEntry = prev ? await rt.pipeline.ledgerEntryOf(o.tag, uri) : null;
      const known = ledgerEntry !== null && (ledgerEntry.completedGeneration !== null || ledgerEntry.inFlight !== null);
      const headers: Record<string, string> = {};
      if (known && prev?.etag) headers['if-none-match'] = prev.etag;
      if (known && prev?.last_modified) headers['if-modified-since'] = prev.last_modified;
      try {
        const r = await guardedFetch(e.url, { ...base, maxBytes: docMax, headers });
        if (r.status === 304) {
          stats.notModified++;
          reporter.event('unchanged');
          continue;
        }
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        stats.fetched++;
        const res = await rt.pipeline.submit({ bytes: r.body, sourceUri: uri, tag: o.tag, contentType: contentTypeOf(new URL(uri).pathname) });
        stats.submitted++;
        reporter.event(sourceEventOf(res.status));
        const next: EntryState = {};
        const etag = header(r.headers.etag);
        const lm = header(r.headers['last-modified']);
        if (etag) next.etag = etag;
        if (lm) next.last_modified = lm;
        await rt.redis.hset(stateKey, uri, JSON.stringify(next));
        log.info('listing entry submitted', { job_id: res.job_id, status: res.status });
      } catch (error) {
        stats.errors++;
        reporter.error(`${escapeControls(uri)}: ${describeError(error).message}`);
        // Seen before: keep it (not a deletion); new: remember it so its absence later is a deletion.
        if (!prev) await rt.redis.hset(stateKey, uri, JSON.stringify({}));
        log.warn('listing entry not fetched', { url: escapeControls(uri), ...describeError(error) });
      }
    }
    const gone: string[] = [];
    for (const uri of Object.keys(state)) {
      if (present.has(uri)) continue;
      const entry = await rt.pipeline.ledgerEntryOf(o.tag, uri);
      if (!entry || (entry.completedGeneration === null && !entry.inFlight)) await rt.redis.hdel(stateKey, uri);
      else gone.push(uri);
    }
    if (gone.length > 0) {
      try {
        const outcome = await guard.apply({ source: listingUri, tag: o.tag, sourceUris: gone });
        stats.tombstoned = outcome.jobs.length;
        reporter.event('deleted', outcome.jobs.length);
        const submitted = new Set(outcome.jobs.map((j) => j.source_uri));
        if (submitted.size > 0) await rt.redis.hdel(stateKey, ...submitted);
        if (outcome.held) {
          stats.heldScan = outcome.scan.scan_id;
          log.warn('deletions held by the mass-delete guard', { scan_id: outcome.scan.scan_id, count: outcome.scan.source_uris.length, documents_of_tag: outcome.scan.documents_of_tag });
        }
      } catch (error) {
        stats.errors++;
        reporter.error(describeError(error).message);
        log.error('tombstones not submitted', describeError(error));
      }
    }
    // Backlog: entries of this listing that were neither admitted nor unchanged (failed fetches).
    reporter.scanned(stats.errors);
    return stats;
  };

  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();
  const schedule = () => {
    if (closed || o.pollIntervalMs <= 0) return;
    timer = setTimeout(() => {
      running = pollOnce().catch((error: unknown) => log.error('poll failed', describeError(error))).finally(schedule);
    }, o.pollIntervalMs);
  };
  if (o.pollIntervalMs > 0) {
    running = pollOnce().catch((error: unknown) => log.error('poll failed', describeError(error))).finally(schedule);
  }
  return {
    pollOnce,
    stateKey,
    reporter,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
      await reporter.flush();
    },
  };
}
