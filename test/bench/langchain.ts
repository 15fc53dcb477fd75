// The LangChain.js baseline of DESIGN §14: what a user would pick instead of this pipeline, set up the way
// LangChain's own docs set it up. `index()` from @langchain/core/indexing with its default batch size (100)
// and `cleanup: "incremental"`, the SQL record manager the indexing docs use (PostgresRecordManager), the
// Markdown splitter with its defaults, LanceDB through LangChain's own integration code (made indexable,
// see IndexableLanceDB), and the same hashing embedder the pipeline uses — so both sides do the same
// embedding work and write the same store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type Table } from '@lancedb/lancedb';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { Embeddings, type EmbeddingsInterface } from '@langchain/core/embeddings';
import { index } from '@langchain/core/indexing';
import { VectorStore } from '@langchain/core/vectorstores';
import { PostgresRecordManager } from '@langchain/community/indexes/postgres';
import { MarkdownTextSplitter } from '@langchain/textsplitters';
import { HashEmbedder } from '../../shared/src/adapters/embedder/hash-embedder.js';
import type { BenchDoc } from './corpus.js';

/** The project's hashing embedder behind LangChain's `Embeddings` interface (same vectors, same cost). */
export class HashingEmbeddings extends Embeddings {
  private readonly embedder: HashEmbedder;

  constructor(dimensions: number) {
    super({});
    this.embedder = new HashEmbedder({ dimensions });
  }

  embedDocuments(texts: string[]): Promise<number[][]> {
    return this.embedder.embed(texts);
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.embedder.embedOne(text);
  }
}

/**
 * LangChain's LanceDB integration (@langchain/community/vectorstores/lancedb) as a VectorStore that
 * `index()` can drive. The published class drops the `ids` index() passes to addDocuments and has no
 * `delete`, so incremental cleanup could never remove a stale chunk (and its fields are private, so it
 * cannot be subclassed). This follows its code — one record per chunk with `vector`, `text` and one
 * column per metadata key, the table created by the first add, `table.add` after that, nearest-neighbour
 * search — and adds the two missing parts: an `id` column and `table.delete`.
 */
export class IndexableLanceDB extends VectorStore {
  declare FilterType: string;
  private table: Table | undefined;

  constructor(embeddings: EmbeddingsInterface, private readonly args: { uri: string; tableName: string }) {
    super(embeddings, {});
  }

  _vectorstoreType(): string {
    return 'lancedb';
  }

  async addDocuments(documents: DocumentInterface[], options?: { ids?: string[] }): Promise<void> {
    await this.addVectors(await this.embeddings.embedDocuments(documents.map((d) => d.pageContent)), documents, options);
  }

  async addVectors(vectors: number[][], documents: DocumentInterface[], options?: { ids?: string[] }): Promise<void> {
    if (vectors.length === 0) return;
    if (vectors.length !== documents.length) throw new Error('Vectors and documents must have the same length');
    const data = documents.map((d, i) => ({ ...d.metadata, id: options?.ids?.[i] ?? '', vector: vectors[i]!, text: d.pageContent }));
    if (!this.table) {
      this.table = await (await connect(this.args.uri)).createTable(this.args.tableName, data, { mode: 'create' });
      return;
    }
    await this.table.add(data);
  }

  override async delete(params?: { ids?: string[] }): Promise<void> {
    const ids = params?.ids ?? [];
    if (ids.length === 0 || !this.table) return;
    await this.table.delete(`id IN (${ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(', ')})`);
  }

  override async similaritySearchVectorWithScore(query: number[], k: number): Promise<[DocumentInterface, number][]> {
    if (!this.table) return [];
    const rows = await this.table.query().nearestTo(query).limit(k).toArray();
    return rows.map((row: Record<string, unknown>) => {
      const { vector: _v, text, _distance, id: _id, ...metadata } = row;
      return [new Document({ pageContent: String(text), metadata }), Number(_distance)];
    });
  }

  rows(): Promise<number> {
    return this.table ? this.table.countRows() : Promise.resolve(0);
  }

  openTable(): Table | undefined {
    return this.table;
  }
}

type IndexingResult = Awaited<ReturnType<typeof index>>;

export interface LangChainPass {
  readonly seconds: number;
  readonly chunks: number;
  readonly result: IndexingResult;
}

export interface LangChainRun {
  readonly docs: number;
  /** Cold: split + index() into an empty store and an empty record manager. */
  readonly first: LangChainPass;
  /** The same documents again, unchanged: index() skips every chunk by its hash. */
  readonly rerun: LangChainPass;
  /** Rows in the LanceDB table after both passes. */
  readonly rows: number;
  /** Distinct `source` values among the stored rows (every document reached the store). */
  readonly sources: number;
  readonly postgresVersion: string;
}

export interface LangChainOptions {
  /** A PostgreSQL the record manager may create a schema in (dropped afterwards). */
  readonly postgresUrl: string;
  readonly dimensions: number;
}

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const benchPostgresUrl = (): string => process.env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL;

let schemaSeq = 0;

/** One LangChain run: a cold pass then an unchanged rerun, each timed from raw Markdown to stored vectors. */
export async function runLangChain(docs: readonly BenchDoc[], options: LangChainOptions): Promise<LangChainRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-langchain-'));
  // A schema of its own per run: the record manager's index names are fixed (`key_index`, ...) and
  // would be skipped by CREATE INDEX IF NOT EXISTS for a second table in a shared schema.
  const schema = `lc_bench_${process.pid}_${Date.now()}_${schemaSeq++}`;
  const recordManager = new PostgresRecordManager('bench', { postgresConnectionOptions: { connectionString: options.postgresUrl }, schema });
  try {
    await recordManager.pool.query(`CREATE SCHEMA "${schema}"`);
    await recordManager.createSchema();
    const embeddings = new HashingEmbeddings(options.dimensions);
    const vectorStore = new IndexableLanceDB(embeddings, { uri: dir, tableName: 'chunks' });
    const splitter = new MarkdownTextSplitter();
    const pass = async (): Promise<LangChainPass> => {
      const started = performance.now();
      const chunks = await splitter.splitDocuments(docs.map((d) => new Document({ pageContent: d.text, metadata: { source: d.name } })));
      const result = await index({ docsSource: chunks, recordManager, vectorStore, options: { cleanup: 'incremental', sourceIdKey: 'source' } });
      return { seconds: (performance.now() - started) / 1000, chunks: chunks.length, result };
    };
    const first = await pass();
    const rerun = await pass();
    const table = vectorStore.openTable();
    const sources = table ? new Set((await table.query().select(['source']).toArray()).map((r) => String(r.source))).size : 0;
    const postgresVersion = String((await recordManager.pool.query('SHOW server_version')).rows[0]?.server_version);
    return { docs: docs.length, first, rerun, rows: await vectorStore.rows(), sources, postgresVersion };
  } finally {
    await recordManager.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await recordManager.end();
    await rm(dir, { recursive: true, force: true });
  }
}
