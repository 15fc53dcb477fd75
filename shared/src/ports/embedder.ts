/**
 * Turns texts into vectors. `version` (model + dimensions + preprocessing version) is the
 * embedding_version stamped on every point (DESIGN §4).
 *
 * Contract (shared/test/contract/embedder.contract.ts): one vector per text, in order, each of
 * `dimensions` finite numbers; the same text gives the same vector; aborting the signal rejects.
 */
export interface Embedder {
  readonly version: string;
  readonly dimensions: number;
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
  close(): Promise<void>;
}
