import path from 'node:path';
import { ErrorCode, PermanentError } from '../../errors/errors.js';

/** Database file inside the store's directory. */
export const LADYBUG_GRAPH_FILE = 'graph.lbug';
/**
 * One store per database file per thread that opens it: a second connection would be a second writer.
 * Kept apart from the store so that the main thread of a store run in a worker thread (ladybug-thread.ts)
 * holds the same guard without loading LadybugDB itself.
 */
const openFiles = new Set<string>();

/** Claims the database file of `dir` for one store; throws when this thread already has it open. */
export function claimDatabaseFile(dir: string): string {
  const file = path.join(path.resolve(dir), LADYBUG_GRAPH_FILE);
  if (openFiles.has(file)) {
    throw new PermanentError(ErrorCode.StoreUnavailable, `LadybugDB ${file} is already open in this process`);
  }
  openFiles.add(file);
  return file;
}

export function releaseDatabaseFile(file: string): void {
  openFiles.delete(file);
}
