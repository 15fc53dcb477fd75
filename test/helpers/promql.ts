import type { Registry } from 'prom-client';

/** PromQL words that look like identifiers but name no metric. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless',
  'inf', 'nan', 'atan2', 'start', 'end']);

/**
 * The metric names a PromQL expression selects (Grafana macros and variables allowed). Strings, label
 * matchers, ranges, grouping label lists, numbers and function names are removed first, so what is left
 * are selector names. A `{__name__=…}` selector cannot be checked by name and is reported as such.
 */
export function metricNamesOf(expr: string): string[] {
  if (/__name__/.test(expr)) return ['<__name__ selector>'];
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')          // string literals
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')                                   // Grafana macros and variables
    .replace(/\{[^}]*\}/g, ' ')                                            // label matchers
    .replace(/\[[^\]]*\]/g, ' ')                                           // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+-?[0-9a-z]+/g, ' ')
    .replace(/@\s*[0-9.]+/g, ' ');
  s = s.replace(/(^|[^a-zA-Z_:0-9])(0x[0-9a-f]+|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)(?![a-zA-Z_:0-9])/gi, '$1 ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = s.slice((m.index ?? 0) + word.length);
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** Grafana template-variable queries: `label_values(metric, label)` and `query_result(expr)`. */
export function metricNamesOfVariableQuery(query: string): string[] {
  const lv = /^\s*label_values\s*\(\s*(.*?)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.exec(query);
  if (lv) return metricNamesOf(lv[1]!);
  if (/^\s*label_values\s*\(\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.test(query)) return [];
  const qr = /^\s*query_result\s*\(([\s\S]*)\)\s*$/.exec(query);
  if (qr) return metricNamesOf(qr[1]!);
  if (/^\s*metrics\s*\(/.test(query)) return ['<metrics() variable>'];
  return metricNamesOf(query);
}

/** Every series name the registry exposes: histograms add _bucket/_sum/_count, summaries _sum/_count. */
export async function exportedSeriesNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    const type = String(m.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m.name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(m.name + suffix);
  }
  return names;
}

/** Every PromQL expression of a Grafana dashboard: panel (and nested row panel) targets, variable queries. */
export function dashboardQueries(dashboard: unknown): { where: string; names: string[]; expr: string }[] {
  const out: { where: string; names: string[]; expr: string }[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((x, i) => walk(x, `${where}[${i}]`));
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (typeof o.expr === 'string') out.push({ where, expr: o.expr, names: metricNamesOf(o.expr) });
    for (const [k, v] of Object.entries(o)) if (k !== 'templating') walk(v, `${where}.${k}`);
  };
  walk(dashboard, '$');
  const vars = ((dashboard as { templating?: { list?: { name?: string; type?: string; query?: unknown }[] } }).templating?.list) ?? [];
  for (const v of vars) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query ?? '';
    out.push({ where: `$.templating.${v.name ?? '?'}`, expr: q, names: metricNamesOfVariableQuery(q) });
  }
  return out;
}

/** The expressions that name a metric the registry does not export, with the unknown names. */
export function unknownMetrics(queries: readonly { where: string; names: string[]; expr: string }[], exported: ReadonlySet<string>) {
  return queries
    .map((q) => ({ ...q, unknown: q.names.filter((n) => !exported.has(n)) }))
    .filter((q) => q.unknown.length > 0);
}
