import { parseDocument } from 'yaml';
import { PermanentError, ErrorCode } from './shared.js';
import { truncate } from './text-util.js';

/**
 * Front matter (DESIGN §5 parse): YAML only, through the `yaml` package with the core schema (no custom
 * tags; an unknown tag such as `!!js/function` stays a plain string and is never executed), a size cap and
 * an alias cap checked while materialising (billion laughs).
 *
 * When is it front matter? The same fences as micromark-extension-frontmatter: the text starts with a
 * `---` line and a later `---` (or `...`) line closes it. An opening `---` without a closing line is a
 * thematic break, not front matter.
 *
 * Policy on errors — the document fails with BAD_FRONT_MATTER only when it clearly has front matter that
 * we cannot read:
 *  - a closed `---` block whose YAML has syntax errors, duplicate keys or too many aliases;
 *  - a closed block over MAX_FRONT_MATTER_BYTES;
 *  - gray-matter style language fences (`---js`, `---javascript`, `---coffee`, …): never evaluated, and
 *    rejected so an operator sees why (reliability B14). `---yaml` / `---yml` are read as YAML.
 * Valid YAML that is not a mapping (a bare string, a list) carries no fields: it is dropped and parsing
 * goes on. TOML front matter (`+++ … +++`, Hugo) is cut off without being interpreted (YAML only).
 */
export const MAX_FRONT_MATTER_BYTES = 64 * 1024;
const MAX_ALIAS_COUNT = 50;
const MAX_TITLE = 500;
const MAX_DESCRIPTION = 2000;
const MAX_TAGS = 100;
const MAX_TAG = 100;

export interface FrontMatter {
  readonly title: string | null;
  readonly description: string | null;
  readonly tags: string[];
}

export interface FrontMatterSplit {
  readonly frontMatter: FrontMatter | null;
  /** The text after the closing fence (the whole text when there is no front matter). */
  readonly body: string;
}

const EMPTY: FrontMatter = { title: null, description: null, tags: [] };

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl === -1 ? text : text.slice(0, nl);
}

/** Offset of the start of the first line after `from` that matches `isClose`, and the offset after it. */
function findClosing(text: string, from: number, isClose: (line: string) => boolean): { start: number; end: number } | null {
  let pos = from;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl === -1 ? text.length : nl;
    const line = text.slice(pos, lineEnd);
    if (isClose(line)) return { start: pos, end: nl === -1 ? text.length : nl + 1 };
    if (nl === -1) return null;
    pos = nl + 1;
  }
  return null;
}

const trailingBlank = (s: string): boolean => /^[ \t]*$/.test(s);

export function splitFrontMatter(text: string): FrontMatterSplit {
  const line = firstLine(text);
  if (line.length === text.length) return { frontMatter: null, body: text };
  const bodyStart = line.length + 1;

  if (line.startsWith('+++') && trailingBlank(line.slice(3))) {
    const close = findClosing(text, bodyStart, (l) => l.startsWith('+++') && trailingBlank(l.slice(3)));
    if (!close) return { frontMatter: null, body: text };
    return { frontMatter: EMPTY, body: text.slice(close.end) };
  }

  if (!line.startsWith('---')) return { frontMatter: null, body: text };
  const lang = line.slice(3).trim();
  if (lang !== '' && !/^[A-Za-z][\w-]*$/.test(lang)) return { frontMatter: null, body: text };
  const close = findClosing(
    text,
    bodyStart,
    (l) => (l.startsWith('---') || l.startsWith('...')) && trailingBlank(l.slice(3)),
  );
  if (!close) return { frontMatter: null, body: text };
  const raw = text.slice(bodyStart, close.start);
  const body = text.slice(close.end);

  const normalisedLang = lang.toLowerCase();
  if (normalisedLang !== '' && normalisedLang !== 'yaml' && normalisedLang !== 'yml') {
    throw new PermanentError(
      ErrorCode.BadFrontMatter,
      `front matter in '${truncate(lang, 40)}' is not supported (YAML only; never evaluated)`,
    );
  }
  if (Buffer.byteLength(raw, 'utf8') > MAX_FRONT_MATTER_BYTES) {
    throw new PermanentError(ErrorCode.BadFrontMatter, `front matter larger than ${MAX_FRONT_MATTER_BYTES} bytes`);
  }
  return { frontMatter: readYamlFrontMatter(raw), body };
}

export function readYamlFrontMatter(raw: string): FrontMatter {
  if (raw.trim() === '') return EMPTY;
  let value: unknown;
  try {
    const doc = parseDocument(raw, {
      schema: 'core',
      customTags: [],
      uniqueKeys: true,
      prettyErrors: false,
      strict: true,
    });
    const first = doc.errors[0];
    if (first) throw new PermanentError(ErrorCode.BadFrontMatter, `front matter is not valid YAML: ${first.code}`);
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof PermanentError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new PermanentError(ErrorCode.BadFrontMatter, `front matter is not valid YAML: ${truncate(message, 200)}`, {
      cause: error,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return EMPTY;
  const fields = value as Record<string, unknown>;
  return {
    title: scalarString(fields.title, MAX_TITLE),
    description: scalarString(fields.description, MAX_DESCRIPTION),
    tags: tagList(fields.tags),
  };
}

function scalarString(v: unknown, max: number): string | null {
  if (typeof v === 'string') {
    const s = v.replace(/\s+/g, ' ').trim();
    return s === '' ? null : truncate(s, max);
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

function tagList(v: unknown): string[] {
  const raw: unknown[] = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const item of raw) {
    const s = scalarString(item, MAX_TAG);
    if (s === null || seen.has(s)) continue;
    seen.add(s);
    out.push(s);
    if (out.length >= MAX_TAGS) break;
  }
  return out;
}
