import { GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import {
  admissionStopped, contentTypeOf, parseS3Uri, s3ClientConfigFromEnv, DEFAULT_GUARD, describeError, sourceUri as canonical, SourceReporter, sourceEventOf, TombstoneGuard, type GuardSettings, type Runtime,
} from '@ingest/shared';

export interface S3SourceOptions {
  readonly bucket: string;
  /** Key prefix, '' for the whole bucket. */
  readonly prefix: string;
  readonly tag: string;
  /** 0 = no timer: polls only through `pollOnce()` (tests). */
  readonly pollIntervalMs: number;
  /** Suffixes admitted (case-insensitive); default .md and .markdown. */
  readonly suffixes?: readonly string[];
  /** Page size of ListObjectsV2 (default the server's, 1,000 on AWS). */
  readonly pageSize?: number;
  /** GETs in flight at once within a poll (default 8). */
  readonly concurrency?: number;
  /** Client settings; default from the standard AWS_* variables (see `s3ClientConfigFromEnv`). */
  readonly client?: S3ClientConfig;
  /** Mass-delete guard (DESIGN §4); default config.deleteGuard. */
  readonly guard?: GuardSettings;
  /** Test hook: runs after the listing and before the GET of a key. */
  readonly beforeGet?: (key: string) => Promise<void>;
}

export interface S3PollStats {
  /** ListObjectsV2 pages read by this poll. */
  readonly pages: number;
  readonly listed: number;
  readonly fetched: number;
  readonly submitted: number;
  readonly tombstoned: number;
  /** The object changed between list and get (412, or a different ETag): retried next poll. */
  readonly changedDuringGet: number;
  readonly errors: number;
  /** New or changed keys left for a later poll because back-pressure has stopped admission. */
  readonly deferred: number;
  /** Tombstones held by the mass-delete guard (scan id), or null. */
  readonly held: string | null;
}

export interface S3Source {
  pollOnce(): Promise<S3PollStats>;
  close(): Promise<void>;
  readonly stateKey: string;
  readonly reporter: SourceReporter;
}

const DEFAULT_SUFFIXES = ['.md', '.markdown'];

/** Newlines, ANSI escapes (ESC and C1) and bidi overrides in a key are shown escaped in logs. */
export const escapeKey = (s: string): string =>
  s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export { s3ClientConfigFromEnv, parseS3Uri };

const isPreconditionFailed = (e: unknown) =>
  e instanceof S3ServiceException && (e.name === 'PreconditionFailed' || e.$metadata.httpStatusCode === 412);
const isNoSuchKey = (e: unknown) =>
  e instanceof S3ServiceException && (e.name === 'NoSuchKey' || e.$metadata.httpStatusCode === 404);

/**
 * The S3 source (DESIGN §8): every poll lists the whole prefix (continuation tokens only page within
 * the poll) and compares ETags with the state persisted in Redis (hash key → ETag), so edits and
 * deletions of keys seen before are noticed and a restart re-admits nothing. New or changed keys are
 * fetched with `If-Match` on the listed ETag; an object that changed in between (412, or a server that
 * ignores If-Match answering with another ETag) is left for the next poll, never ingested half-way.
 * Keys that were seen and are gone become tombstones. Keys are never used as local paths.
 */
export function startS3Source(rt: Runtime, o: S3SourceOptions): S3Source {
  const client = new S3Client(o.client ?? s3ClientConfigFromEnv());
  const suffixes = (o.suffixes && o.suffixes.length > 0 ? o.suffixes : DEFAULT_SUFFIXES).map((s) => s.toLowerCase());
  const stateKey = `ingest:source:s3:${o.tag}:${o.bucket}/${o.prefix}`;
  const log = rt.logger.child({ source: 's3', tag: o.tag, bucket: escapeKey(o.bucket), prefix: escapeKey(o.prefix) });
  const admissible = (key: string) => !key.endsWith('/') && suffixes.some((s) => key.toLowerCase().endsWith(s));
  const uriOf = (key: string) => canonical.s3(o.bucket, key);
  let firstPoll = true;
  const guard = new TombstoneGuard(rt.redis, rt.pipeline, o.guard ?? rt.config.deleteGuard ?? DEFAULT_GUARD);
  const sourceId = `s3://${o.bucket}/${o.prefix}`;
  const reporter = new SourceReporter(rt.redis, rt.metrics, { kind: 's3', tag: o.tag, location: sourceId });

  async function listAll(stats: { pages: number }): Promise<Map<string, string>> {
    const listed = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({
        Bucket: o.bucket, Prefix: o.prefix || undefined, ContinuationToken: token, ...(o.pageSize ? { MaxKeys: o.pageSize } : {}),
      }));
      stats.pages++;
      for (const obj of page.Contents ?? []) {
        if (obj.Key !== undefined && obj.ETag && admissible(obj.Key)) listed.set(obj.Key, obj.ETag);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return listed;
  }

  async function poll(): Promise<S3PollStats> {
    const stats = { pages: 0, listed: 0, fetched: 0, submitted: 0, tombstoned: 0, changedDuringGet: 0, errors: 0, deferred: 0, held: null as string | null };
    const listed = await listAll(stats);
    stats.listed = listed.size;
    const known = await rt.redis.hgetall(stateKey);

    const todo = [...listed].filter(([key, etag]) => known[key] !== etag);
    const fetchOne = async ([key, etag]: [string, string]) => {
      const shown = escapeKey(key);
      try {
        // Back-pressure (DESIGN §6): the state does not advance while admission is stopped.
        if (await admissionStopped(rt.redis)) {
          stats.deferred++;
          return;
        }
        await o.beforeGet?.(key);
        const res = await client.send(new GetObjectCommand({ Bucket: o.bucket, Key: key, IfMatch: etag }));
        const bytes = await res.Body!.transformToByteArray();
        stats.fetched++;
        if (res.ETag && res.ETag !== etag) {
          stats.changedDuringGet++;
          log.info('s3 object changed between list and get; retried next poll', { key: shown });
          return;
        }
        const r = await rt.pipeline.submit({ bytes, sourceUri: uriOf(key), tag: o.tag, contentType: contentTypeOf(key) });
        await rt.redis.hset(stateKey, key, etag);
        stats.submitted++;
        reporter.event(sourceEventOf(r.status));
        log.info('s3 object submitted', { key: shown, job_id: r.job_id, status: r.status });
      } catch (error) {
        if (isPreconditionFailed(error)) {
          stats.changedDuringGet++;
          log.info('s3 object changed between list and get (412); retried next poll', { key: shown });
        } else if (isNoSuchKey(error)) {
          log.info('s3 object gone between list and get', { key: shown });
        } else {
          stats.errors++;
          reporter.error(`${shown}: ${describeError(error).message}`);
          log.error('s3 object not submitted', { key: shown, ...describeError(error) });
        }
      }
    };
    const queue = [...todo];
    const workers = Array.from({ length: Math.max(1, o.concurrency ?? 8) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await fetchOne(next);
    });
    await Promise.all(workers);

    // Seen before and gone now; on the first poll also documents the ledger holds under this prefix
    // (the persisted state may have been lost).
    const gone = new Set(Object.keys(known).filter((key) => !listed.has(key)));
    if (firstPoll) {
      const prefixUri = uriOf(o.prefix);
      for (const docId of await rt.pipeline.ledger.documentsOfTag(o.tag)) {
        const entry = await rt.pipeline.ledger.get(docId);
        if (entry?.sourceUri.startsWith(prefixUri) && entry.completedGeneration !== null) {
          const key = entry.sourceUri.slice(`s3://${o.bucket}/`.length);
          if (!listed.has(key) && admissible(key)) gone.add(key);
        }
      }
    }
    if (gone.size > 0) {
      // Through the mass-delete guard: a held scan keeps its keys in the state, so the next poll offers
      // them again and, once an operator approved (`ingestctl tombstones approve`), they go through.
      try {
        const outcome = await guard.apply({ source: sourceId, tag: o.tag, sourceUris: [...gone].map(uriOf) });
        const submitted = new Set(outcome.jobs.map((j) => j.source_uri));
        for (const key of gone) {
          if (!submitted.has(uriOf(key))) continue;
          await rt.redis.hdel(stateKey, key);
          stats.tombstoned++;
          reporter.event('deleted');
          log.info('s3 object removed', { key: escapeKey(key) });
        }
        if (outcome.held) {
          stats.held = outcome.scan.scan_id;
          log.warn('deletions held by the mass-delete guard', { scan_id: outcome.scan.scan_id, count: outcome.scan.source_uris.length, documents_of_tag: outcome.scan.documents_of_tag });
        }
      } catch (error) {
        stats.errors++;
        reporter.error(describeError(error).message);
        log.error('tombstones not submitted', describeError(error));
      }
    }
    firstPoll = false;
    // Backlog: new or changed keys seen by this poll and not admitted (deferred, changed, failed).
    reporter.scanned(todo.length - stats.submitted);
    // Per-source counters as a log line; an idle poll only at debug.
    if (stats.fetched + stats.tombstoned + stats.errors + stats.deferred > 0) log.info('s3 poll', stats);
    else log.debug('s3 poll', stats);
    return stats;
  }

  // Polls never overlap: each waits for the one before.
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const pollOnce = (): Promise<S3PollStats> => {
    const p = chain.then(poll);
    p.catch((error: unknown) => reporter.error(`poll: ${describeError(error).message}`));
    chain = p.catch(() => undefined);
    return p;
  };
  const schedule = () => {
    if (closed || o.pollIntervalMs <= 0) return;
    timer = setTimeout(() => {
      void pollOnce()
        .catch((error: unknown) => log.error('s3 poll failed', describeError(error)))
        .finally(schedule);
    }, o.pollIntervalMs);
  };
  if (o.pollIntervalMs > 0) {
    void pollOnce().catch((error: unknown) => log.error('s3 poll failed', describeError(error))).finally(schedule);
  }
  log.info('watching s3 prefix', { poll_interval_ms: o.pollIntervalMs });

  return {
    stateKey,
    reporter,
    pollOnce,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await chain;
      await reporter.flush();
      client.destroy();
    },
  };
}
