import { constants } from 'node:fs';
import { lstat, open, readdir, realpath, mkdir, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { contentTypeOf, sourceUri } from '@ingest/shared';

/** `.md|.markdown|.html` taken once stable; `name.md.ready` taken at once (producers rename `.part` → `.ready`). */
const DOCUMENT = /\.(md|markdown|html?)(\.ready)?$/i;

export const isCandidate = (file: string): boolean => DOCUMENT.test(file) && !file.endsWith('.part');

export interface SpoolFile {
  readonly path: string;
  readonly sourceUri: string;
  readonly contentType: string;
}

/**
 * Only regular files whose real path is inside the root: symlinks, FIFOs, devices and anything that
 * resolves outside are refused before open (DESIGN §8).
 */
export async function admissibleFile(root: string, file: string): Promise<SpoolFile | null> {
  if (!isCandidate(file)) return null;
  const st = await lstat(file).catch(() => null);
  // A hard link (nlink > 1) can alias a file outside the root that realpath cannot see (reliability B17).
  if (!st || !st.isFile() || st.nlink > 1) return null;
  const real = await realpath(file).catch(() => null);
  const realRoot = await realpath(root);
  if (!real || !(real === realRoot || real.startsWith(realRoot + path.sep))) return null;
  const uri = sourceUri.file(file);
  return { path: file, sourceUri: uri, contentType: contentTypeOf(file.replace(/\.ready$/, '')) };
}

/** Every admissible file under the root, for the full rescan at start. */
export async function scanSpool(root: string): Promise<SpoolFile[]> {
  await mkdir(root, { recursive: true });
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = await Promise.all(entries.filter((e) => e.isFile()).map((e) => admissibleFile(root, path.join(e.parentPath, e.name))));
  return files.filter((f): f is SpoolFile => f !== null).sort((a, b) => a.path.localeCompare(b.path));
}

export interface StableReadOptions {
  /** Wait between attempts when the file changed while it was read. */
  readonly stableMs: number;
  /** Reads before giving up (default 5). */
  readonly attempts?: number;
  /** Files over this many bytes are refused from their fstat size, before a byte is read (reliability B6). */
  readonly maxBytes?: number;
  /** Test hook: runs after the first fstat and before the bytes are read. */
  readonly beforeRead?: (file: string) => Promise<void>;
}

/** Thrown when the file is not a regular file at open time, is over the size cap, or kept changing through every attempt. */
export class SpoolReadError extends Error {
  constructor(readonly code: 'NOT_REGULAR' | 'UNSTABLE' | 'TOO_LARGE', message: string) {
    super(message);
  }
}

/**
 * Reads a spool file only as a whole, stable version: opened with O_NOFOLLOW|O_NONBLOCK (a FIFO swapped in
 * after the lstat cannot block the open, a symlink is refused) and fstat'ed — only a regular file is read;
 * size and mtime (of the open file and of the path) are compared before and after the read, and a file
 * that changed meanwhile is read again after `stableMs`, a bounded number of times.
 */
export async function readSpoolFile(f: SpoolFile, o: StableReadOptions = { stableMs: 0 }): Promise<Buffer> {
  const attempts = Math.max(1, o.attempts ?? 5);
  for (let attempt = 1; ; attempt++) {
    const fh = await open(f.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let bytes: Buffer;
    let stable: boolean;
    try {
      const before = await fh.stat();
      if (!before.isFile() || before.nlink > 1) throw new SpoolReadError('NOT_REGULAR', 'not a regular file with a single link');
      if (o.maxBytes !== undefined && before.size > o.maxBytes) throw new SpoolReadError('TOO_LARGE', `${before.size} bytes is over the ${o.maxBytes}-byte cap`);
      await o.beforeRead?.(f.path);
      bytes = await fh.readFile();
      const after = await fh.stat();
      const now = await lstat(f.path).catch(() => null);
      stable = bytes.length === before.size && after.size === before.size && after.mtimeMs === before.mtimeMs
        && now !== null && now.ino === before.ino && now.size === before.size && now.mtimeMs === before.mtimeMs;
    } finally {
      await fh.close();
    }
    if (stable) return bytes;
    if (attempt >= attempts) throw new SpoolReadError('UNSTABLE', `the file kept changing while read (${attempts} attempts)`);
    await sleep(Math.max(10, o.stableMs));
  }
}

/** Deletes `.part` files (abandoned uploads) not modified for `ttlMs`; returns the paths removed. */
export async function sweepParts(root: string, ttlMs: number, now = Date.now()): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const e of entries) {
    if (!e.name.endsWith('.part')) continue;
    const file = path.join(e.parentPath, e.name);
    const st = await lstat(file).catch(() => null);
    if (!st || !st.isFile() || now - st.mtimeMs < ttlMs) continue;
    if (await unlink(file).then(() => true, () => false)) removed.push(file);
  }
  return removed;
}
