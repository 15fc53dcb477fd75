import { codeSpans, scanSection, shellSegments, tableCells, type CodeBlock } from './section-scan.js';

/**
 * The transparent heuristics of DESIGN §5 extract, per section text. Each finding is one occurrence
 * (mentions count occurrences). Kind-independent naming rules live in extract.ts.
 */

export interface Finding {
  readonly kind: 'Command' | 'Parameter';
  readonly name: string;
}

export interface StepFinding {
  readonly order: number;
  readonly name: string;
}

/** Code block languages whose lines are shell commands. */
export const SHELL_LANGS: ReadonlySet<string> = new Set([
  'sh', 'bash', 'shell', 'console', 'zsh', 'ksh', 'fish', 'shell-session', 'shellsession', 'terminal',
]);
/** Shell languages that show a session: only prompt lines are commands, the rest is output. */
const SESSION_LANGS: ReadonlySet<string> = new Set(['console', 'shell-session', 'shellsession', 'terminal']);
const YAML_LANGS: ReadonlySet<string> = new Set(['yaml', 'yml']);
const JSON_LANGS: ReadonlySet<string> = new Set(['json', 'jsonc', 'json5']);
const INI_LANGS: ReadonlySet<string> = new Set(['ini', 'toml', 'cfg', 'conf', 'properties', 'env', 'dotenv']);

/** Words that start a command line but are not programs: shell syntax and a few ubiquitous builtins. */
const NOT_PROGRAMS: ReadonlySet<string> = new Set([
  'if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', 'in', 'function',
  'select', 'return', 'break', 'continue', '{', '}', '[', '[[', ']]', '!', '(', ')',
  'cd', 'echo', 'export', 'exit', 'set', 'unset', 'source', '.', 'alias', 'true', 'false', 'read', 'printf', 'local',
]);
/** Wrappers and shell keywords skipped before the program word (`sudo make`, `then ls`). */
const WRAPPERS: ReadonlySet<string> = new Set([
  'sudo', 'doas', 'env', 'time', 'nohup', 'exec', 'nice', 'command', 'if', 'then', 'else', 'elif', 'do', 'while',
  'until', '!', '{', '(',
]);

/** `$ cmd`, `> cmd`, `redis> cmd`, `127.0.0.1:6379> cmd`, `user@host:~$ cmd`. */
const PROMPT = /^[ \t]*(?:[\w.@:~/-]*[$>])[ \t]+(?=\S)/;
const PROGRAM = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;
const FLAG = /^--([A-Za-z0-9][A-Za-z0-9_.-]*)(?:=|$)/;
const ASSIGNMENT = /^([A-Z_][A-Z0-9_]*)=/;
const DOTTED = /^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+$/;
/** A dotted word ending in one of these is a file or host name, not a config key. */
const NOT_KEY_SUFFIX: ReadonlySet<string> = new Set([
  'md', 'markdown', 'txt', 'json', 'yaml', 'yml', 'toml', 'ini', 'conf', 'cfg', 'xml', 'html', 'htm', 'csv', 'log',
  'js', 'mjs', 'cjs', 'ts', 'py', 'rb', 'go', 'rs', 'java', 'c', 'h', 'cpp', 'sh', 'bash', 'zsh', 'ps1', 'bat', 'exe',
  'so', 'dll', 'dylib', 'jar', 'tar', 'gz', 'tgz', 'zip', 'rdb', 'aof', 'pem', 'crt', 'key', 'lock', 'pid', 'sock',
  'png', 'jpg', 'jpeg', 'gif', 'svg', 'pdf', 'com', 'org', 'net', 'io', 'dev', 'edu', 'gov', 'co', 'uk', 'de', 'app',
]);
/** First header cell of a parameter table ("Parameter | Description"). */
const PARAM_TABLE_HEADERS: ReadonlySet<string> = new Set([
  'parameter', 'parameters', 'param', 'option', 'options', 'name', 'key', 'keys', 'setting', 'settings', 'flag',
  'flags', 'variable', 'variables', 'environment variable', 'env var', 'argument', 'arguments', 'field', 'fields',
  'property', 'properties', 'config key', 'configuration key', 'directive', 'configuration', 'config',
]);

/** Program word of a command segment (wrappers and leading assignments skipped), or null. */
function programOf(words: readonly string[]): string | null {
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (ASSIGNMENT.test(w)) i++;
    else if (WRAPPERS.has(w)) {
      i++;
      while (i < words.length && words[i]!.startsWith('-')) i++;
    } else break;
  }
  const word = words[i];
  if (word === undefined) return null;
  const base = word.includes('/') ? word.slice(word.lastIndexOf('/') + 1) : word;
  if (!PROGRAM.test(base) || /^\d+$/.test(base) || NOT_PROGRAMS.has(base)) return null;
  return base;
}

function argumentFindings(words: readonly string[], out: Finding[]): void {
  for (const w of words) {
    const flag = FLAG.exec(w);
    if (flag) out.push({ kind: 'Parameter', name: `--${flag[1]}` });
    const assignment = ASSIGNMENT.exec(w);
    if (assignment) out.push({ kind: 'Parameter', name: assignment[1]! });
  }
}

/** A command line: its programs (one per ; && || | segment), flags and KEY=value words. */
function commandLine(line: string, out: Finding[], programs?: Set<string>): void {
  for (const words of shellSegments(line)) {
    const program = programOf(words);
    if (program) {
      out.push({ kind: 'Command', name: program });
      programs?.add(program);
    }
    argumentFindings(words, out);
  }
}

/** Logical lines of a shell block: `\` continuations joined, heredoc bodies skipped. */
function logicalLines(lines: readonly string[]): string[] {
  const out: string[] = [];
  let pending = '';
  let heredoc: string | null = null;
  for (const raw of lines) {
    if (heredoc !== null) {
      if (raw.trim() === heredoc) heredoc = null;
      continue;
    }
    const line = pending + raw;
    if (/(?:^|[^\\])\\$/.test(raw)) {
      pending = line.slice(0, -1) + ' ';
      continue;
    }
    pending = '';
    out.push(line);
    const hd = /<<-?[ \t]*['"]?([A-Za-z_]\w*)['"]?/.exec(line);
    if (hd) heredoc = hd[1]!;
  }
  if (pending) out.push(pending);
  return out;
}

/** Code blocks without a language (or `text`): lines starting with a known program are commands. */
const PLAIN_LANGS: ReadonlySet<string> = new Set(['', 'text', 'txt', 'plain', 'plaintext']);

/**
 * Commands and parameters in one code block; shell programs seen are added to `programs`. With `known`,
 * a line of an unlabelled block whose first word is a known program is a command line too.
 */
export function codeBlockFindings(
  block: CodeBlock,
  out: Finding[],
  programs: Set<string>,
  known?: (program: string) => boolean,
): void {
  const { lang, lines } = block;
  const hasPrompt = lines.some((l) => PROMPT.test(l));
  if (SHELL_LANGS.has(lang)) {
    if (SESSION_LANGS.has(lang) || hasPrompt) {
      for (const l of logicalLines(lines.filter((x) => PROMPT.test(x)).map((x) => x.replace(PROMPT, '')))) {
        commandLine(l, out, programs);
      }
    } else {
      for (const l of logicalLines(lines)) {
        if (l.trimStart().startsWith('#')) continue;
        commandLine(l, out, programs);
      }
    }
    return;
  }
  // Any other block: prompt lines are commands.
  if (hasPrompt) {
    for (const l of lines) if (PROMPT.test(l)) commandLine(l.replace(PROMPT, ''), out, programs);
  } else if (known && PLAIN_LANGS.has(lang)) {
    for (const l of logicalLines(lines)) {
      const first = shellSegments(l)[0];
      const program = first ? programOf(first) : null;
      if (program && known(program)) commandLine(l, out);
    }
  }
  if (YAML_LANGS.has(lang)) yamlKeys(lines, out);
  else if (JSON_LANGS.has(lang)) jsonKeys(lines.join('\n'), out);
  else if (INI_LANGS.has(lang)) iniKeys(lines, out);
}

function yamlKeys(lines: readonly string[], out: Finding[]): void {
  for (const l of lines) {
    const m = /^([A-Za-z_][\w.-]*|"[^"]+"|'[^']+')[ \t]*:(?:[ \t]|$)/.exec(l);
    if (m) out.push({ kind: 'Parameter', name: m[1]!.replace(/^["']|["']$/g, '') });
  }
}

function iniKeys(lines: readonly string[], out: Finding[]): void {
  for (const l of lines) {
    const t = l.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';') || t.startsWith('[')) continue;
    const m = /^(?:export[ \t]+)?([A-Za-z_][\w.-]*)[ \t]*[=:]/.exec(t);
    if (m) out.push({ kind: 'Parameter', name: m[1]! });
  }
}

/** Keys of the top-level object of a JSON block (a linear scanner, tolerant of comments and errors). */
function jsonKeys(src: string, out: Finding[]): void {
  let depth = 0;
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') j++;
        s += src[j] ?? '';
        j++;
      }
      let k = j + 1;
      while (k < src.length && /\s/.test(src[k]!)) k++;
      if (depth === 1 && src[k] === ':') out.push({ kind: 'Parameter', name: s });
      i = j + 1;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      const nl = src.indexOf('\n', i);
      i = nl === -1 ? src.length : nl;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
}

/** Inline code outside code blocks: commands of known programs, flags, KEY=value, dotted keys. */
export function inlineCodeFindings(line: string, out: Finding[], known: (program: string) => boolean): void {
  for (const span of codeSpans(line)) {
    const content = span.replace(PROMPT, '').trim();
    if (content === '') continue;
    const segments = shellSegments(content);
    const first = segments[0];
    if (!first || first.length === 0) continue;
    const program = programOf(first);
    if (program && known(program)) {
      for (const words of segments) {
        const p = programOf(words);
        if (p && known(p)) out.push({ kind: 'Command', name: p });
        argumentFindings(words, out);
      }
      continue;
    }
    // Not a command: a span made of flags and/or assignments, or one dotted key.
    const words = segments.flat();
    if (FLAG.test(words[0]!) || ASSIGNMENT.test(words[0]!)) {
      argumentFindings(words, out);
      continue;
    }
    if (words.length === 1 && DOTTED.test(content)) {
      const suffix = content.slice(content.lastIndexOf('.') + 1).toLowerCase();
      if (!NOT_KEY_SUFFIX.has(suffix)) out.push({ kind: 'Parameter', name: content });
    }
  }
}

/** First-column names of tables whose first header cell names parameters. */
export function tableFindings(block: readonly string[], out: Finding[]): void {
  const rows = block.map(tableCells);
  if (rows.length < 2 || rows.some((r) => r === null)) return;
  const header = rows[0]!;
  const width = header.length;
  if (width < 2 || rows.some((r) => r!.length !== width)) return;
  const first = header[0]!.replace(/`/g, '').toLowerCase().replace(/[^a-z ]/g, '').replace(/\s+/g, ' ').trim();
  if (!PARAM_TABLE_HEADERS.has(first)) return;
  for (const row of rows.slice(1)) {
    const cell = row![0]!;
    const spans = codeSpans(cell);
    const names = spans.length > 0 ? spans : [cell];
    for (const n of names) {
      const name = n.trim();
      if (name !== '') out.push({ kind: 'Parameter', name });
    }
  }
}

/**
 * Top-level ordered list items (lines `N. …` at the left margin, outside code) in order. The step's
 * name is its first line; when that opens a code fence, the first line of code.
 */
export function orderedSteps(text: string): string[] {
  const lines = text.split('\n');
  const steps: string[] = [];
  let fence: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const t = line.trim();
    if (fence) {
      if (t.length >= fence.length && [...t].every((c) => c === fence![0])) fence = null;
      continue;
    }
    const m = /^\d{1,9}\. (.*)$/.exec(line);
    if (m) {
      let name = m[1]!.replace(/^\[[ x]\] /, '').trim();
      const opens = /^(`{3,}|~{3,})/.exec(name);
      if (opens) {
        fence = opens[1]!;
        name = (lines[i + 1] ?? '').trim();
      }
      steps.push(name);
      continue;
    }
    const f = /^\s*(`{3,}|~{3,})[^`]*$/.exec(line);
    if (f) fence = f[1]!;
  }
  return steps;
}

/** Everything the per-section heuristics find, except procedures. */
export function sectionFindings(
  text: string,
  known: (program: string) => boolean,
  programs: Set<string>,
): Finding[] {
  const out: Finding[] = [];
  const scanned = scanSection(text);
  for (const block of scanned.code) codeBlockFindings(block, out, programs, known);
  for (const block of scanned.blocks) {
    tableFindings(block, out);
    for (const line of block) inlineCodeFindings(line, out, known);
  }
  return out;
}
