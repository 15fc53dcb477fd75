/**
 * The embedded GraphStore with LadybugDB in a worker thread of its own: the same LadybugGraphStore (its
 * one writer, group commits, read pool and coalesced reads) behind the same port, called by message.
 *
 * Why: LadybugDB's Node binding converts every parameter and every result value on the calling thread,
 * and part of each `executeAsync` runs there before the work leaves for the thread pool. In the process
 * that holds the store stages that was 7-8 ms of main-thread time per document (p99 ~5 ms a statement,
 * 0.4 ms even for a one-scalar read), during which graph, vector and verify — and BullMQ's lock renewals
 * and job hand-offs — waited: event-loop delays of up to 170-233 ms under the open loop. Here the main
 * thread pays a structured clone of the call's arguments and result instead, and the graph's work runs
 * beside LanceDB's calls and the queues' traffic.
 *
 * One host thread serves every such store of the process and is never terminated: a thread that has
 * loaded LadybugDB and is torn down while the process goes on corrupts the heap (`free(): invalid
 * pointer` after a few open-thread-close cycles, LadybugDB 0.19 on Node 24), while one thread opening and
 * closing databases, or threads that end with the process, do not. Idle, it does not hold the process open.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { GraphDocumentVersion, SectionExpansion, SectionHash } from '../../domain/model.js';
import { ErrorCode, RetryableError } from '../../errors/errors.js';
import type { DocumentGraph, GraphCounts, GraphStore, GraphWriteResult, StoredDocument, StoredSection } from '../../ports/graph-store.js';
import { ThreadClient } from '../../util/thread-rpc.js';
import { claimDatabaseFile, releaseDatabaseFile } from './ladybug-files.js';
import type { LadybugGraphStoreOptions } from './ladybug-graph-store.js';

const WORKER_URL = new URL(
  fileURLToPath(import.meta.url).endsWith('.ts') ? './ladybug-thread-worker.ts' : './ladybug-thread-worker.js',
  import.meta.url,
);

const closedError = (): Error => new Error('STORE_CLOSED: the graph store is closed');

let host: ThreadClient | null = null;
/** The process's LadybugDB thread, started on first use, and again only if it died. */
function hostThread(): ThreadClient {
  if (host?.alive) return host;
  const worker = new Worker(WORKER_URL, { name: 'ladybug' });
  host = new ThreadClient(worker, (code, cause) =>
    new RetryableError(ErrorCode.StoreUnavailable, `the LadybugDB thread exited with ${code}${cause ? `: ${cause}` : ''}`));
  return host;
}

export class LadybugThreadGraphStore implements GraphStore {
  readonly kind = 'ladybug';
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly thread: ThreadClient,
    private readonly handle: number,
    private readonly file: string,
  ) {}

  /** Opens (creating if needed) the store in `dir` in the LadybugDB thread; resolves once it is open. */
  static async open(dir: string, options: LadybugGraphStoreOptions = {}): Promise<LadybugThreadGraphStore> {
    const file = claimDatabaseFile(dir);
    try {
      const thread = hostThread();
      const handle = await thread.call<number>('open', [dir, options]);
      return new LadybugThreadGraphStore(thread, handle, file);
    } catch (error) {
      releaseDatabaseFile(file);
      throw error;
    }
  }

  writeVersion(version: GraphDocumentVersion): Promise<GraphWriteResult> {
    return this.call('writeVersion', version);
  }
  removeSectionsExcept(documentId: string, keepSectionIds: readonly string[]): Promise<number> {
    return this.call('removeSectionsExcept', documentId, keepSectionIds);
  }
  deleteDocument(documentId: string): Promise<number> {
    return this.call('deleteDocument', documentId);
  }
  sectionHashes(documentId: string): Promise<SectionHash[]> {
    return this.call('sectionHashes', documentId);
  }
  getDocument(documentId: string): Promise<StoredDocument | null> {
    return this.call('getDocument', documentId);
  }
  listDocuments(tag?: string): Promise<StoredDocument[]> {
    return this.call('listDocuments', tag);
  }
  markCompleted(documentId: string, generation: number, pipelineVersion: string): Promise<void> {
    return this.call('markCompleted', documentId, generation, pipelineVersion);
  }
  getSections(ids: readonly string[]): Promise<StoredSection[]> {
    return this.call('getSections', ids);
  }
  sectionsOf(documentId: string): Promise<StoredSection[]> {
    return this.call('sectionsOf', documentId);
  }
  expand(sectionIds: readonly string[]): Promise<SectionExpansion[]> {
    return this.call('expand', sectionIds);
  }
  removeOrphanEntities(): Promise<number> {
    return this.call('removeOrphanEntities');
  }
  counts(documentId?: string): Promise<GraphCounts> {
    return this.call('counts', documentId);
  }
  documentGraph(documentId: string): Promise<DocumentGraph> {
    return this.call('documentGraph', documentId);
  }
  mentionsOf(sectionId: string): Promise<Map<string, number>> {
    return this.call('mentionsOf', sectionId);
  }

  /** Waits for queued work (the store's own close in the thread, which stays for other stores). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (this.thread.alive) await this.thread.call('close', [this.handle]);
      } finally {
        releaseDatabaseFile(this.file);
      }
    })();
    return this.closing;
  }

  private call<T>(method: keyof GraphStore & string, ...args: unknown[]): Promise<T> {
    if (this.closing) return Promise.reject(closedError());
    return this.thread.call<T>('invoke', [this.handle, method, args]);
  }
}
