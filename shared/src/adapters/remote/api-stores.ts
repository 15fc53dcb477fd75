import { ErrorCode, PermanentError, RetryableError } from '../../errors/errors.js';
import type { GraphStore } from '../../ports/graph-store.js';
import type { VectorStore } from '../../ports/vector-store.js';

/**
 * Stores as seen from a compute-stage process of the embedded default (`ingestctl up --processes`):
 * LadybugDB and LanceDB admit one process (DESIGN §3), so the only store read a compute stage needs —
 * embed's read-only `existingHashes` — goes through the API of the process that owns them. Every other
 * call is a programming error in such a process and fails loudly.
 */
export function apiVectorReader(apiUrl: string, token: string, dimensions: number): VectorStore {
  const notHere = (op: string) => async (): Promise<never> => {
    throw new PermanentError(ErrorCode.Internal, `${op} is not available in a compute-stage process`);
  };
  return {
    kind: 'api',
    dimensions,
    async existingHashes(documentId, embeddingVersion) {
      const q = new URLSearchParams({ document_id: documentId, embedding_version: embeddingVersion });
      let res: Response;
      try {
        res = await fetch(`${apiUrl}/api/vectors/existing-hashes?${q}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
      } catch (error) {
        throw new RetryableError(ErrorCode.StoreUnavailable, `the store process does not answer: ${(error as Error).message}`, { cause: error });
      }
      if (!res.ok) throw new RetryableError(ErrorCode.StoreUnavailable, `existing-hashes answered HTTP ${res.status}`);
      const body = (await res.json()) as { hashes: Record<string, string> };
      return new Map(Object.entries(body.hashes));
    },
    upsert: notHere('upsert'), points: notHere('points'), fullPoints: notHere('fullPoints'), deleteDocumentExcept: notHere('deleteDocumentExcept'),
    deleteDocument: notHere('deleteDocument'), searchVector: notHere('searchVector'), searchText: notHere('searchText'),
    count: notHere('count'), close: async () => undefined,
  };
}

export function unavailableGraphStore(): GraphStore {
  const notHere = (op: string) => async (): Promise<never> => {
    throw new PermanentError(ErrorCode.Internal, `graph ${op} is not available in a compute-stage process`);
  };
  return {
    kind: 'none',
    writeVersion: notHere('writeVersion'), removeSectionsExcept: notHere('removeSectionsExcept'), deleteDocument: notHere('deleteDocument'),
    sectionHashes: notHere('sectionHashes'), getDocument: notHere('getDocument'), listDocuments: notHere('listDocuments'),
    markCompleted: notHere('markCompleted'), expand: notHere('expand'), removeOrphanEntities: notHere('removeOrphanEntities'),
    counts: notHere('counts'), mentionsOf: notHere('mentionsOf'), getSections: notHere('getSections'), sectionsOf: notHere('sectionsOf'), documentGraph: notHere('documentGraph'),
    close: async () => undefined,
  };
}
