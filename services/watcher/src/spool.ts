import { lstat, readdir, readFile, realpath, mkdir } from 'node:fs/promises';
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
  if (!st || !st.isFile()) return null;
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

export const readSpoolFile = (f: SpoolFile): Promise<Buffer> => readFile(f.path);
