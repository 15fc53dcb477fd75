/**
 * The one in-process writer of an embedded store (DESIGN §3): LadybugDB admits one write transaction at
 * a time and LanceDB merges of a new id race into duplicates, so every call to such a store goes through
 * one FIFO. Consecutive batchable calls of the same kind that queue up while another task runs are merged
 * into one call (group commit): no added latency when idle, large batches under load.
 */
type Settle<R> = { resolve: (value: R) => void; reject: (error: unknown) => void };

interface ExclusiveTask {
  readonly kind: 'exclusive';
  readonly run: () => Promise<unknown>;
  readonly settle: Settle<unknown>;
}

interface BatchTask {
  readonly kind: 'batch';
  readonly key: string;
  readonly runBatch: (items: unknown[]) => Promise<unknown[]>;
  readonly items: { item: unknown; settle: Settle<unknown> }[];
  rows: number;
}

export interface SingleWriterOptions {
  /** A merged batch closes once it holds this many rows (items may count several rows each). */
  readonly maxBatchRows: number;
}

export class SingleWriter {
  private readonly queue: (ExclusiveTask | BatchTask)[] = [];
  private running = false;
  private closed = false;

  constructor(private readonly options: SingleWriterOptions = { maxBatchRows: 256 }) {}

  /** Runs `run` alone, after everything queued before it. */
  exclusive<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.push({ kind: 'exclusive', run, settle: { resolve: resolve as (v: unknown) => void, reject } });
    });
  }

  /**
   * Queues `item`; items of one `key` queued back to back are handed to `runBatch` together, which must
   * return one result per item in order.
   */
  batch<I, R>(key: string, item: I, rows: number, runBatch: (items: I[]) => Promise<R[]>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const settle = { resolve: resolve as (v: unknown) => void, reject };
      const last = this.queue[this.queue.length - 1];
      if (last?.kind === 'batch' && last.key === key && last.rows + rows <= this.options.maxBatchRows) {
        last.items.push({ item, settle });
        last.rows += rows;
        return;
      }
      this.push({
        kind: 'batch',
        key,
        runBatch: runBatch as (items: unknown[]) => Promise<unknown[]>,
        items: [{ item, settle }],
        rows,
      });
    });
  }

  /** Waits for queued work, then refuses new work. */
  async close(): Promise<void> {
    await this.exclusive(async () => undefined);
    this.closed = true;
  }

  private push(task: ExclusiveTask | BatchTask): void {
    if (this.closed) {
      const error = new Error('STORE_CLOSED: the store writer is closed');
      if (task.kind === 'exclusive') task.settle.reject(error);
      else task.items.forEach((i) => i.settle.reject(error));
      return;
    }
    this.queue.push(task);
    if (!this.running) void this.pump();
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      for (let task = this.queue.shift(); task; task = this.queue.shift()) {
        if (task.kind === 'exclusive') {
          try {
            task.settle.resolve(await task.run());
          } catch (error) {
            task.settle.reject(error);
          }
          continue;
        }
        try {
          const results = await task.runBatch(task.items.map((i) => i.item));
          task.items.forEach((i, n) => i.settle.resolve(results[n]));
        } catch (error) {
          task.items.forEach((i) => i.settle.reject(error));
        }
      }
    } finally {
      this.running = false;
    }
  }
}
