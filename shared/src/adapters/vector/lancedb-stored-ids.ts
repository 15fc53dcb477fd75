/**
 * Which ids the LanceDB table may hold, without asking it: a Bloom filter over every id stored, kept by
 * the store's one writer (lancedb-writer.ts), which is the only process that writes the table (DESIGN §3).
 *
 * The writer appends a batch whose ids are all new (a third of a merge's cost) and merges otherwise, so
 * every upsert asked the table first (`countRows(id IN …)`): ~6 ms of CPU and ~5 ms of latency per
 * document, even on a small table, and nine such reads for the 3 MB document. The filter answers "not
 * stored" for nearly all new ids; only the ids it may hold (really stored, or a false positive) are still
 * read from the table. It never answers "not stored" for a stored id: ids enter it before their write is
 * sent (a write that fails after it committed stays covered), and deleted ids stay in it (they cost a read,
 * never a duplicate) until it is rebuilt.
 *
 * Loaded with one scan of the id column at the first write, rebuilt from the table at twice the ids it
 * then holds once it has taken in as many ids as it was sized for: ~1.2 MB per million rows.
 */
import type * as lancedb from '@lancedb/lancedb';
import { BloomFilter } from 'bloomfilter';

/** 10 bits and 7 hashes per id: ~1 % false positives when full, far fewer right after a rebuild. */
const BITS_PER_ID = 10;
const HASHES = 7;
const MIN_CAPACITY = 65_536;

export class StoredIds {
  private filter: BloomFilter | null = null;
  /** Ids taken in since the last (re)build, repeats included (they only bring the next rebuild nearer). */
  private taken = 0;
  private capacity = 0;
  /** Times the filter was built from the table (tests, diagnostics). */
  builds = 0;

  constructor(
    private readonly table: lancedb.Table,
    private readonly minCapacity = MIN_CAPACITY,
  ) {}

  /** The ids of `ids` the table may hold; every stored one is among them. */
  async maybeStored(ids: readonly string[]): Promise<string[]> {
    const filter = await this.ready(0);
    return ids.filter((id) => filter.test(id));
  }

  /** Takes in ids about to be written. */
  async add(ids: readonly string[]): Promise<void> {
    const filter = await this.ready(ids.length);
    for (const id of ids) filter.add(id);
    this.taken += ids.length;
  }

  private async ready(incoming: number): Promise<BloomFilter> {
    if (this.filter && this.taken + incoming <= this.capacity) return this.filter;
    const capacity = Math.max(this.minCapacity, 2 * ((await this.table.countRows()) + incoming));
    const filter = new BloomFilter(capacity * BITS_PER_ID, HASHES);
    let taken = 0;
    for await (const batch of this.table.query().select(['id'])) {
      const column = batch.getChild('id');
      for (let i = 0; i < batch.numRows; i++) filter.add(String(column?.get(i)));
      taken += batch.numRows;
    }
    this.filter = filter;
    this.taken = taken;
    this.capacity = capacity;
    this.builds++;
    return filter;
  }
}
