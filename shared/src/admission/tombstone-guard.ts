import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Pipeline, SubmitResult } from './pipeline.js';

/** One scan's tombstones held by the guard (the element of `ingestctl tombstones --json` `scans`). */
export interface HeldScan {
  readonly scan_id: string;
  readonly source: string;
  readonly tag: string;
  readonly source_uris: readonly string[];
  /** Live documents of the tag when the scan was held. */
  readonly documents_of_tag: number;
  readonly share: number;
  readonly held_at: string;
}

export interface GuardSettings {
  readonly maxShare: number;
  readonly minDocuments: number;
}

export const DEFAULT_GUARD: GuardSettings = { maxShare: 0.2, minDocuments: 5 };

const HELD = 'ingest:tombstones:held';
const approvedKey = (source: string) => `ingest:tombstones:approved:${source}`;
const APPROVED_TTL_SECONDS = 86_400;

export type GuardOutcome =
  | { readonly held: false; readonly jobs: SubmitResult[] }
  | { readonly held: true; readonly scan: HeldScan; readonly jobs: SubmitResult[] };

/**
 * The mass-delete guard (DESIGN §4): the tombstones of one scan of a source are submitted unless they
 * exceed `maxShare` of the tag's live documents and number at least `minDocuments`; then they are held
 * in Redis under a scan id until an operator approves (`ingestctl tombstones approve SCAN_ID`), so a
 * broken listing cannot empty the index. One held scan per source: a later scan replaces its list.
 * Deletions an operator approved are not held again while their tombstones run.
 */
export class TombstoneGuard {
  constructor(private readonly redis: Redis, private readonly pipeline: Pipeline, private readonly settings: GuardSettings = DEFAULT_GUARD) {}

  /** Live (completed, not deleted) documents of the tag. */
  async liveDocuments(tag: string): Promise<number> {
    let n = 0;
    for (const id of await this.pipeline.ledger.documentsOfTag(tag)) {
      const e = await this.pipeline.ledger.get(id);
      if (e && e.completedGeneration !== null) n++;
    }
    return n;
  }

  async apply(scan: { source: string; tag: string; sourceUris: readonly string[] }): Promise<GuardOutcome> {
    const approved = new Set(await this.redis.smembers(approvedKey(scan.source)));
    const uris = [...new Set(scan.sourceUris)];
    const pre = uris.filter((u) => approved.has(u));
    const rest = uris.filter((u) => !approved.has(u));
    const jobs: SubmitResult[] = [];
    for (const u of pre) jobs.push(await this.pipeline.tombstone(u, scan.tag));
    const existing = await this.heldFor(scan.source, scan.tag);
    if (rest.length === 0) {
      if (existing) await this.redis.hdel(HELD, existing.scan_id);
      return { held: false, jobs };
    }
    const total = await this.liveDocuments(scan.tag);
    const share = total === 0 ? 1 : rest.length / total;
    if (rest.length >= this.settings.minDocuments && share > this.settings.maxShare) {
      const held: HeldScan = {
        scan_id: existing?.scan_id ?? randomUUID(), source: scan.source, tag: scan.tag, source_uris: rest,
        documents_of_tag: total, share: Math.round(share * 1000) / 1000, held_at: existing?.held_at ?? new Date().toISOString(),
      };
      await this.redis.hset(HELD, held.scan_id, JSON.stringify(held));
      return { held: true, scan: held, jobs };
    }
    if (existing) await this.redis.hdel(HELD, existing.scan_id);
    for (const u of rest) jobs.push(await this.pipeline.tombstone(u, scan.tag));
    return { held: false, jobs };
  }

  async list(): Promise<HeldScan[]> {
    const all = Object.values(await this.redis.hgetall(HELD)).map((v) => JSON.parse(v) as HeldScan);
    return all.sort((a, b) => a.held_at.localeCompare(b.held_at));
  }

  /** Submits a held scan's tombstones; null when there is no such held scan (or another approver won). */
  async approve(scanId: string): Promise<{ scan_id: string; jobs: SubmitResult[] } | null> {
    const raw = await this.redis.hget(HELD, scanId);
    if (!raw || (await this.redis.hdel(HELD, scanId)) !== 1) return null;
    const scan = JSON.parse(raw) as HeldScan;
    if (scan.source_uris.length > 0) {
      await this.redis.multi().sadd(approvedKey(scan.source), ...scan.source_uris).expire(approvedKey(scan.source), APPROVED_TTL_SECONDS).exec();
    }
    const jobs: SubmitResult[] = [];
    for (const u of scan.source_uris) jobs.push(await this.pipeline.tombstone(u, scan.tag));
    return { scan_id: scanId, jobs };
  }

  private async heldFor(source: string, tag: string): Promise<HeldScan | null> {
    return (await this.list()).find((s) => s.source === source && s.tag === tag) ?? null;
  }
}
