/**
 * The one connection of a LadybugGraphStore and the discipline around it: prepared statements cached per
 * connection, explicit transactions, and a fresh connection whenever the old one's state is in doubt.
 *
 * Ladybug quirks handled here (verified with @ladybugdb/core 0.19.1):
 * - a statement that fails inside BEGIN … COMMIT rolls the transaction back by itself, so the ROLLBACK
 *   that follows answers "No active transaction"; that is the normal case, not a fault;
 * - a connection whose BEGIN failed (another writer in the system) crashes the process with SIGSEGV on
 *   its next query, so it is dropped and replaced, never reused;
 * - an empty list parameter cannot be typed ("r has data type STRING but … was expected"), so empty
 *   UNWIND lists are not sent at all;
 * - a list of structs must agree on every field's type across rows (INT64 vs DOUBLE is an error), which
 *   is why the batch checker only lets integers through for integer columns.
 * The session is not safe for concurrent use: its owner calls it only from its SingleWriter.
 */
import lbug from '@ladybugdb/core';
import type { Connection, Database, LbugValue, PreparedStatement, QueryResult } from '@ladybugdb/core';
import { ErrorCode, PermanentError, PipelineError, RetryableError } from '../../errors/errors.js';

export type Row = Record<string, LbugValue>;
export type Params = Record<string, LbugValue>;

/** Rows per execution of an UNWIND statement: bounds one parameter's size (Ladybug converts it value by value). */
const UNWIND_CHUNK = 1000;

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Driver errors → the taxonomy: a statement the engine cannot bind or convert, or rows that violate a
 * constraint, will never succeed; anything else (I/O, memory, a busy writer) may.
 */
export function storeError(error: unknown, code: ErrorCode): PipelineError {
  if (error instanceof PipelineError) return error;
  const message = `LadybugDB: ${messageOf(error)}`;
  if (/(Parser|Binder|Catalog|Conversion) exception|Cannot convert JavaScript|violates/i.test(message)) {
    return new PermanentError(code, message, { cause: error });
  }
  return new RetryableError(code, message, { cause: error });
}

/** Rows as one list per field, each led by a placeholder of the field's type (see runColumns). */
function columnsOf(rows: readonly Record<string, LbugValue>[]): Params {
  const columns: Params = {};
  for (const field of Object.keys(rows[0] ?? {})) {
    const values = rows.map((r) => r[field] ?? null);
    columns[field] = [placeholderOf(values), ...values];
  }
  return columns;
}

function placeholderOf(values: readonly LbugValue[]): LbugValue {
  const sample = values.find((v) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) ?? values[0];
  if (typeof sample === 'string' || sample === null || sample === undefined) return '';
  if (typeof sample === 'number' || typeof sample === 'bigint') return 0;
  if (typeof sample === 'boolean') return false;
  if (Array.isArray(sample)) return [sample.length > 0 ? placeholderOf(sample as LbugValue[]) : ''];
  throw new PermanentError(ErrorCode.Internal, `runColumns: no placeholder for a ${typeof sample} column`);
}

/** Rows converted between two yields to the event loop (~1.5 µs a row: ~8 ms at a time). */
const ROWS_PER_SLICE = 5000;

/**
 * All rows of an executed statement. The result is already materialised when `execute` resolves, so the
 * rows are read synchronously: the driver's `getAll()` fetches each row with its own trip through the
 * libuv thread pool (`getNextAsync`), ~18 µs a row when idle (9,213 sections: 172 ms against 14 ms) and,
 * under load, a wait behind every query queued on that pool for each row. Large results yield to the
 * event loop every ROWS_PER_SLICE rows.
 */
async function rowsOf(result: QueryResult): Promise<Row[]> {
  const rows: Row[] = [];
  while (result.hasNext()) {
    rows.push(result.getNextSync() as Row);
    if (rows.length % ROWS_PER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return rows;
}

export class LadybugSession {
  private conn: Connection;
  private readonly statements = new Map<string, PreparedStatement>();

  constructor(private readonly db: Database) {
    this.conn = new lbug.Connection(db);
  }

  /** Runs `fn` between BEGIN and COMMIT; on any failure rolls back, replacing the connection if in doubt. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    try {
      await this.query('BEGIN TRANSACTION');
    } catch (error) {
      this.replaceConnection(); // a connection after a failed BEGIN must not be used again
      throw error;
    }
    try {
      const value = await fn();
      await this.query('COMMIT');
      return value;
    } catch (error) {
      try {
        await this.query('ROLLBACK');
      } catch (rollback) {
        // Ladybug rolls back by itself when a statement fails inside a transaction; anything else is doubt.
        if (!/no active transaction/i.test(messageOf(rollback))) this.replaceConnection();
      }
      throw error;
    }
  }

  /** A statement without parameters and without result rows (DDL, transaction control). */
  async query(cypher: string): Promise<void> {
    const result = (await this.conn.query(cypher)) as QueryResult;
    result.close();
  }

  /** Executes a prepared statement (prepared once per connection) and returns its rows. */
  async run(cypher: string, params: Params): Promise<Row[]> {
    let statement = this.statements.get(cypher);
    if (!statement) {
      statement = await this.conn.prepare(cypher);
      if (!statement.isSuccess()) {
        throw new PermanentError(ErrorCode.Internal, `LadybugDB cannot prepare a statement: ${statement.getErrorMessage()}`);
      }
      this.statements.set(cypher, statement);
    }
    const result = (await this.conn.execute(statement, params)) as QueryResult;
    try {
      return await rowsOf(result);
    } finally {
      result.close();
    }
  }

  /** An UNWIND statement over one list parameter, in chunks; an empty list is not sent. */
  async runList(cypher: string, name: 'ids' | 'rows', list: readonly unknown[]): Promise<Row[]> {
    const out: Row[] = [];
    for (let i = 0; i < list.length; i += UNWIND_CHUNK) {
      out.push(...(await this.run(cypher, { [name]: list.slice(i, i + UNWIND_CHUNK) as LbugValue[] })));
    }
    return out;
  }

  /**
   * An UNWIND statement over rows passed a column at a time (one list parameter per field, `$field[i]`),
   * in chunks, with `scalars` as further parameters; no rows, nothing sent. Ladybug converts a list of
   * structs value by value with a type check across rows: 1,000 section rows of 11 fields cost 73-87 ms to
   * create as structs, 30-34 ms as columns. Only for statements whose lookups use scalars: a MERGE or a key
   * MATCH on `$column[i]` is planned without the key lookup it gets on `r.field` (1.2 s against 40 ms at
   * 50k documents). Every column starts with a placeholder of its type, so a column of only empty lists or
   * only nulls still binds (without it Ladybug fails the first and asserts on the second); statements
   * therefore unwind `range(2, size(…))` (lists are 1-based).
   */
  async runColumns(cypher: string, rows: readonly object[], scalars: Params = {}): Promise<Row[]> {
    const out: Row[] = [];
    for (let i = 0; i < rows.length; i += UNWIND_CHUNK) {
      const columns = columnsOf(rows.slice(i, i + UNWIND_CHUNK) as Record<string, LbugValue>[]);
      out.push(...(await this.run(cypher, { ...columns, ...scalars })));
    }
    return out;
  }

  async close(): Promise<void> {
    this.statements.clear();
    await this.conn.close().catch(() => undefined);
  }

  private replaceConnection(): void {
    const old = this.conn;
    this.statements.clear();
    this.conn = new lbug.Connection(this.db);
    void old.close().catch(() => undefined);
  }
}

/**
 * Read-only statements on connections of their own, beside the writer's. LadybugDB runs a read
 * transaction on another connection while the writer's transaction is open (it sees the last committed
 * state), so reads — verify's parity checks, retrieval's graph expansion, the API — no longer queue
 * behind group commits on the writer's one connection, and use the second core meanwhile. A caller's
 * own writes are committed before its write call resolves, so its later reads see them.
 */
export class LadybugReadPool {
  private readonly idle: LadybugSession[] = [];
  private readonly all: LadybugSession[] = [];
  private readonly waiting: ((s: LadybugSession) => void)[] = [];
  private inUse = 0;
  private drained: (() => void) | null = null;

  constructor(db: Database, size: number) {
    for (let i = 0; i < Math.max(1, size); i++) this.all.push(new LadybugSession(db));
    this.idle.push(...this.all);
  }

  async use<T>(fn: (session: LadybugSession) => Promise<T>): Promise<T> {
    const session = this.idle.pop() ?? (await new Promise<LadybugSession>((resolve) => this.waiting.push(resolve)));
    this.inUse++;
    try {
      return await fn(session);
    } finally {
      this.inUse--;
      const next = this.waiting.shift();
      if (next) next(session);
      else this.idle.push(session);
      if (this.inUse === 0 && this.waiting.length === 0) this.drained?.();
    }
  }

  /** Waits for reads in progress, then closes every connection. */
  async close(): Promise<void> {
    if (this.inUse > 0 || this.waiting.length > 0) await new Promise<void>((resolve) => { this.drained = resolve; });
    await Promise.all(this.all.map((s) => s.close()));
  }
}

