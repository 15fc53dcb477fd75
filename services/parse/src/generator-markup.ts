import { fenceCloses, fenceFor, fenceOpen, leadingIndent, type FenceState } from './text-util.js';

/**
 * Generator markup loses its markers and keeps its inner text (DESIGN §5 parse). Never inside fenced code
 * and never inside inline code spans. Rules:
 *  - Liquid/GitBook `{% … %}` tags (`{% hint style="info" %}`, `{% endhint %}`, `{% tabs %}`, `{% code %}`,
 *    `{% raw %}`, …) and Hugo shortcodes `{{< … >}}` / `{{% … %}}` (with closing `{{< /name >}}`) are removed.
 *    A `title="…"` attribute survives as a line of text (it is shown to readers). A line holding only
 *    tags becomes a blank line (so the inner text is its own paragraph); tags inside a line just vanish.
 *    Hugo's escaped form (a comment inside `{{<` … `>}}`) renders literally, so it becomes `{{< x >}}`.
 *  - Hugo code shortcodes on their own lines — `{{< highlight LANG >}}`, `{{< code lang="LANG" >}}`,
 *    `{{< clients-example … >}}` — with a closing tag become a fenced code block (```LANG).
 *  - Docusaurus admonitions: `:::tip Title` / `:::tip[Title]` open (the title survives as a line), a bare
 *    `:::` closes; more colons nest.
 *  - MkDocs admonitions: `!!! note "Title"` (and collapsible `??? note` / `???+ note`) with a body indented
 *    by four columns: the marker line becomes the title (if any) and the body is de-indented by four.
 * Everything else is untouched. Linear in the input (each tag search is bounded and cached).
 */
export function stripGeneratorMarkup(body: string): string {
  // Cheap exit for documents without any marker.
  if (!/\{%|\{\{[<%]|^[ \t]*:::|^[ \t]*(?:!!!|\?\?\?)/m.test(body)) return body;
  const out: string[] = [];
  processLines(body.split('\n'), out, 0);
  return out.join('\n');
}

const MAX_ADMONITION_NESTING = 32;
const MAX_TAG_LENGTH = 2000;

interface TagScan {
  readonly text: string;
  readonly titles: string[];
  readonly tagCount: number;
}

const HUGO_CODE = /^([ \t]*)\{\{<\s*(highlight|code|clients-example)\b([^\n]*?)>\}\}[ \t]*$/;
const MKDOCS = /^([ \t]*)(?:!!!|\?\?\?\+?)[ \t]+([A-Za-z][\w-]*)(?:[ \t]+(?:inline|end))*(?:[ \t]+(?:"([^"]*)"|'([^']*)'))?[ \t]*$/;
const DOCUSAURUS = /^([ \t]*)(:{3,})[ \t]*([A-Za-z][\w-]*)?[ \t]*(.*)$/;

function processLines(lines: readonly string[], out: string[], nesting: number): void {
  let fence: FenceState | null = null;
  let docusaurusDepth = 0;
  let hugoCloses: Map<string, number[]> | null = null;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence) {
      out.push(line);
      if (fenceCloses(line, fence)) fence = null;
      continue;
    }
    const opened = fenceOpen(line);
    if (opened) {
      fence = opened;
      out.push(line);
      continue;
    }

    // Hugo code shortcodes → fenced code.
    if (line.includes('{{<')) {
      const m = HUGO_CODE.exec(line);
      if (m) {
        hugoCloses ??= indexHugoCloses(lines);
        const close = nextAfter(hugoCloses.get(m[2]!), i);
        if (close !== -1) {
          const indent = m[1]!;
          const lang = hugoCodeLang(m[2]!, m[3]!);
          const content = lines.slice(i + 1, close);
          const f = fenceFor(content.join('\n'));
          out.push('', indent + f + lang, ...content, indent + f, '');
          i = close;
          continue;
        }
      }
    }

    // MkDocs admonition with an indented body.
    if (nesting < MAX_ADMONITION_NESTING && (line.includes('!!!') || line.includes('???'))) {
      const m = MKDOCS.exec(line);
      if (m) {
        const indent = m[1]!;
        const baseCols = leadingIndent(line).columns;
        const title = (m[3] ?? m[4] ?? '').trim();
        let end = i + 1;
        let lastContent = i;
        while (end < lines.length) {
          const l = lines[end]!;
          if (l.trim() === '') {
            end++;
            continue;
          }
          if (leadingIndent(l).columns >= baseCols + 4) {
            lastContent = end;
            end++;
            continue;
          }
          break;
        }
        const bodyLines = lines.slice(i + 1, lastContent + 1).map((l) => dedent(l, 4));
        out.push('');
        if (title) out.push(indent + title, '');
        processLines(bodyLines, out, nesting + 1);
        out.push('');
        i = lastContent;
        continue;
      }
    }

    // Docusaurus admonitions.
    if (line.includes(':::')) {
      const m = DOCUSAURUS.exec(line);
      if (m) {
        const indent = m[1]!;
        const name = m[3];
        const rest = (m[4] ?? '').trim();
        if (name) {
          docusaurusDepth++;
          const title = docusaurusTitle(rest);
          out.push('');
          if (title) out.push(indent + title, '');
          continue;
        }
        if (rest === '' && docusaurusDepth > 0) {
          docusaurusDepth--;
          out.push('');
          continue;
        }
      }
    }

    // Liquid / Hugo tags anywhere in the line (outside code spans).
    if (line.includes('{%') || line.includes('{{<') || line.includes('{{%')) {
      const scan = stripTags(line);
      if (scan.tagCount > 0) {
        if (scan.text.trim() === '') {
          const indent = line.slice(0, leadingIndent(line).index);
          out.push('');
          for (const t of scan.titles) out.push(indent + t, '');
        } else out.push(scan.text);
        continue;
      }
    }
    out.push(line);
  }
}

function dedent(line: string, columns: number): string {
  let cols = 0;
  let i = 0;
  while (i < line.length && cols < columns) {
    const c = line[i];
    if (c === ' ') cols++;
    else if (c === '\t') cols += 4 - (cols % 4);
    else break;
    i++;
  }
  // A tab that overshoots keeps the surplus as spaces.
  return (cols > columns ? ' '.repeat(cols - columns) : '') + line.slice(i);
}

function docusaurusTitle(rest: string): string {
  if (rest.startsWith('[')) {
    const end = rest.lastIndexOf(']');
    return (end > 0 ? rest.slice(1, end) : rest.slice(1)).trim();
  }
  if (rest.startsWith('{')) return '';
  return rest;
}

function hugoCodeLang(name: string, args: string): string {
  const lang = /\blang(?:uage)?\s*=\s*"([^"]*)"/.exec(args)?.[1];
  if (lang) return lang.trim().split(/\s+/)[0] ?? '';
  if (name === 'highlight') {
    const first = args.trim().split(/\s+/)[0] ?? '';
    return /^[\w+#.-]+$/.test(first) ? first : '';
  }
  return '';
}

/** Line indices of `{{< /name >}}` closers (alone on their line), per shortcode name. */
function indexHugoCloses(lines: readonly string[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  const re = /^[ \t]*\{\{[<%]\s*\/\s*([\w-]+)\s*[>%]\}\}[ \t]*$/;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.includes('{{')) continue;
    const m = re.exec(l);
    if (!m) continue;
    let list = map.get(m[1]!);
    if (!list) map.set(m[1]!, (list = []));
    list.push(i);
  }
  return map;
}

function nextAfter(sorted: readonly number[] | undefined, i: number): number {
  if (!sorted) return -1;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= i) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length ? sorted[lo]! : -1;
}

const TAG_KINDS: readonly { open: string; close: string }[] = [
  { open: '{%', close: '%}' },
  { open: '{{<', close: '>}}' },
  { open: '{{%', close: '%}}' },
];

/** Remove `{% … %}`, `{{< … >}}`, `{{% … %}}` outside code spans; collect `title="…"` values. */
export function stripTags(line: string): TagScan {
  let text = '';
  const titles: string[] = [];
  let tagCount = 0;
  // Backtick run lengths with no matching run further on (keeps adversarial lines linear).
  const unmatchedRuns = new Set<number>();
  // Cached position of the next closer per tag kind (-2 = not looked up, -1 = none left).
  const nextClose = [-2, -2, -2];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === '`') {
      let j = i;
      while (line[j] === '`') j++;
      const run = j - i;
      const end = unmatchedRuns.has(run) ? -1 : findBacktickRun(line, j, run);
      if (end === -1) {
        unmatchedRuns.add(run);
        text += line.slice(i, j);
        i = j;
      } else {
        text += line.slice(i, end + run);
        i = end + run;
      }
      continue;
    }
    if (c === '{') {
      let matched = false;
      for (let k = TAG_KINDS.length - 1; k >= 0; k--) {
        const kind = TAG_KINDS[k]!;
        if (!line.startsWith(kind.open, i)) continue;
        let close = nextClose[k]!;
        if (close !== -1 && close < i + kind.open.length) {
          close = line.indexOf(kind.close, i + kind.open.length);
          nextClose[k] = close;
        }
        if (close === -1 || close - i > MAX_TAG_LENGTH) break;
        const inner = line.slice(i + kind.open.length, close);
        if (kind.open === '{{<' && inner.startsWith('/*') && inner.endsWith('*/')) {
          text += '{{<' + inner.slice(2, -2) + '>}}';
        } else {
          const title = /\btitle\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(inner);
          const t = (title?.[1] ?? title?.[2] ?? '').trim();
          if (t) titles.push(t);
        }
        tagCount++;
        i = close + kind.close.length;
        matched = true;
        break;
      }
      if (matched) continue;
    }
    text += c;
    i++;
  }
  return { text, titles, tagCount };
}

/** Index of the next backtick run of exactly `run` backticks at or after `from`, or -1. */
function findBacktickRun(line: string, from: number, run: number): number {
  let i = line.indexOf('`', from);
  while (i !== -1) {
    let j = i;
    while (line[j] === '`') j++;
    if (j - i === run) return i;
    i = line.indexOf('`', j);
  }
  return -1;
}
