// Database directories for the LadybugDB store tests (in-thread and threaded), and the options they open with.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const LADYBUG_TEST_OPTIONS = { bufferPoolBytes: 64 * 1024 * 1024, maxDbBytes: 2 ** 32 };

/** A fresh temp dir per call (`fresh`), all of them removed by `removeAll`. */
export function ladybugTestDirs(prefix: string): { fresh: () => string; removeAll: () => Promise<void> } {
  const dirs: string[] = [];
  return {
    fresh: () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    removeAll: async () => {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
