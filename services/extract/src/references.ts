import path from 'node:path';

/**
 * Link → reference target (DESIGN §5 extract "references (links to other documents and anchors)").
 *  - `#anchor` → a section of this document with that anchor (percent-decoded; exact match first, then
 *    case-insensitive); no such section → no reference.
 *  - a relative link (or root-relative `/x.md`, or an absolute URL with the source's own scheme and host)
 *    whose path ends in `.md` / `.markdown` / `.mdx` → the document at the resolved source URI, query
 *    and fragment dropped. A link resolving to this very document with a fragment → that section; without
 *    one → nothing.
 *  - anything else (other hosts, other schemes, mailto:, links to non-Markdown files) → nothing.
 *
 * Resolution follows each source kind's canonical form (DESIGN §4, shared/src/ids sourceUri):
 *  - http(s): WHATWG `new URL(link, base)` (the canonical form is the URL serialisation);
 *  - file:// and s3://: the path is stored raw (not percent-encoded), so the link is percent-decoded and
 *    joined with POSIX path rules (`..` stops at the root);
 *  - cli://<tag>/<relative path>: the path is relative to the ingest base and may begin with `..`
 *    segments, which `new URL` would collapse (`new URL('cli://t/../a.md')` → `cli://t/a.md`, changing the
 *    identity), so it is joined with POSIX rules keeping leading `..`; `/x.md` means the base directory.
 */
export type LinkTarget = { kind: 'Document'; sourceUri: string } | { kind: 'Section'; anchor: string } | null;

const MARKDOWN = /\.(?:md|markdown|mdx)$/i;

interface SplitUri {
  readonly scheme: string;
  readonly authority: string;
  readonly path: string;
}

function splitUri(uri: string): SplitUri | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/s.exec(uri);
  return m ? { scheme: m[1]!.toLowerCase(), authority: m[2]!, path: m[3]! } : null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function splitFragment(link: string): { rest: string; fragment: string | null } {
  const hash = link.indexOf('#');
  const rest = hash === -1 ? link : link.slice(0, hash);
  const fragment = hash === -1 ? null : link.slice(hash + 1);
  const q = rest.indexOf('?');
  return { rest: q === -1 ? rest : rest.slice(0, q), fragment };
}

export function resolveLink(rawUrl: string, sourceUri: string): LinkTarget {
  const url = rawUrl.trim();
  if (url === '') return null;
  if (url.startsWith('#')) {
    const anchor = safeDecode(url.slice(1));
    return anchor === '' ? null : { kind: 'Section', anchor };
  }
  const base = splitUri(sourceUri);
  if (!base) return null;
  const { rest, fragment } = splitFragment(url);
  const hasScheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(url);
  const anchorOf = (f: string | null): LinkTarget => {
    const a = f === null ? '' : safeDecode(f);
    return a === '' ? null : { kind: 'Section', anchor: a };
  };

  if (base.scheme === 'http' || base.scheme === 'https') {
    let resolved: URL;
    try {
      resolved = new URL(url, sourceUri);
    } catch {
      return null;
    }
    const own = new URL(sourceUri);
    if ((resolved.protocol !== 'http:' && resolved.protocol !== 'https:') || resolved.host !== own.host) return null;
    const fragmentOf = resolved.hash === '' ? null : resolved.hash.slice(1);
    resolved.hash = '';
    resolved.search = '';
    own.hash = '';
    own.search = '';
    if (resolved.toString() === own.toString()) return anchorOf(fragmentOf);
    if (!MARKDOWN.test(resolved.pathname)) return null;
    return { kind: 'Document', sourceUri: resolved.toString() };
  }

  let targetPath: string;
  if (hasScheme || rest.startsWith('//')) {
    const abs = splitUri(hasScheme ? rest : `${base.scheme}:${rest}`);
    if (!abs || abs.scheme !== base.scheme || abs.authority !== base.authority) return null;
    targetPath = safeDecode(abs.path);
  } else {
    const rel = safeDecode(rest);
    if (base.scheme === 'cli') {
      const dir = path.posix.dirname(base.path.replace(/^\//, ''));
      const joined = rel.startsWith('/') ? path.posix.normalize(rel.slice(1)) : path.posix.normalize(path.posix.join(dir, rel));
      targetPath = '/' + (joined === '.' ? '' : joined.replace(/^\.\//, ''));
    } else {
      const dir = path.posix.dirname(base.path || '/');
      targetPath = rel.startsWith('/') ? path.posix.resolve(rel) : path.posix.resolve(dir.startsWith('/') ? dir : '/' + dir, rel);
    }
  }
  if (rest === '' && fragment !== null) return anchorOf(fragment);
  const target = `${base.scheme}://${base.authority}${targetPath}`;
  if (target === sourceUri) return anchorOf(fragment);
  if (!MARKDOWN.test(targetPath)) return null;
  return { kind: 'Document', sourceUri: target };
}
