import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction, type Socket } from 'node:net';

/**
 * The SSRF guard of the HTTP source (DESIGN §8): every address a request would connect to is decided
 * here — after DNS resolution, at connect time, on every hop including redirects. Loopback, private,
 * link-local (and the cloud metadata address), CGNAT, unspecified, multicast, reserved, IPv6 ULA and
 * link-local, and IPv4-mapped forms of any of those are denied unless allow-listed (config hosts/CIDRs
 * plus INGEST_HTTP_ALLOW, comma-separated).
 */

export interface AllowList {
  /** Host names (lower case) and IP literals (normalised) allowed as written. */
  readonly hosts: ReadonlySet<string>;
  readonly cidrs: BlockList;
  /** The entries as given, for logs. */
  readonly entries: readonly string[];
}

export interface Decision {
  readonly allowed: boolean;
  readonly reason: string;
}

const V4_DENIED: readonly [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.169.254', 32, 'metadata'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const V6_DENIED: readonly [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'ula'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'link-local'],
  ['ff00::', 8, 'multicast'],
  ['64:ff9b::', 96, 'nat64'],
  ['2001:db8::', 32, 'reserved'],
  ['fd00:ec2::254', 128, 'metadata'],
];
const v4Lists = V4_DENIED.map(([net, prefix, reason]) => {
  const b = new BlockList();
  b.addSubnet(net, prefix, 'ipv4');
  return { b, reason };
});
const v6Lists = V6_DENIED.map(([net, prefix, reason]) => {
  const b = new BlockList();
  b.addSubnet(net, prefix, 'ipv6');
  return { b, reason };
});

/** Parses an IPv4 part as inet_aton does: 0x… hex, leading 0 octal, else decimal. */
function numericPart(s: string): number | null {
  if (/^0x[0-9a-f]*$/i.test(s)) return s.length === 2 ? 0 : parseInt(s.slice(2), 16);
  if (/^0[0-7]*$/.test(s)) return parseInt(s, 8);
  if (/^[1-9][0-9]*$/.test(s)) return parseInt(s, 10);
  return null;
}

/** inet_aton forms: 2130706433, 0x7f000001, 0177.0.0.1, 127.1 → dotted quad; null when not numeric. */
export function numericIPv4(host: string): string | null {
  const parts = host.split('.');
  if (parts.length > 4 || parts.some((p) => p === '')) return null;
  const nums = parts.map(numericPart);
  if (nums.some((n) => n === null || !Number.isFinite(n))) return null;
  const n = nums as number[];
  const last = n[n.length - 1]!;
  const head = n.slice(0, -1);
  if (head.some((x) => x > 255) || last >= 2 ** (8 * (4 - head.length))) return null;
  let value = last;
  head.forEach((x, i) => { value += x * 2 ** (8 * (3 - i)); });
  return [24, 16, 8, 0].map((s) => Math.floor(value / 2 ** s) % 256).join('.');
}

/** Lower-cased host without brackets or trailing dot; numeric IPv4 forms become dotted quads. */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (isIP(h) === 6) return h;
  return numericIPv4(h) ?? h;
}

/** ::ffff:a.b.c.d, ::ffff:7f00:1 and the deprecated ::a.b.c.d → the embedded IPv4 address. */
function embeddedIPv4(ip: string): string | null {
  const m = /^(?:0{0,4}:){0,5}(?:0{0,4}:)?ffff:(.+)$/i.exec(ip) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (!m) return null;
  const tail = m[1]!;
  if (isIP(tail) === 4) return tail;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(tail);
  if (!hex) return null;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

export function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const cidrs = new BlockList();
  const kept: string[] = [];
  for (const raw of entries) {
    const e = raw.trim();
    if (!e) continue;
    kept.push(e);
    const slash = e.lastIndexOf('/');
    if (slash > 0) {
      const net = normaliseHost(e.slice(0, slash));
      const prefix = Number(e.slice(slash + 1));
      const family = isIP(net);
      if (family && Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128)) {
        cidrs.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
        continue;
      }
      throw new Error(`not a CIDR in the HTTP allow-list: ${e}`);
    }
    const h = normaliseHost(e);
    hosts.add(h);
    const family = isIP(h);
    if (family) cidrs.addAddress(h, family === 4 ? 'ipv4' : 'ipv6');
  }
  return { hosts, cidrs, entries: kept };
}

/** Config entries plus INGEST_HTTP_ALLOW (comma-separated). */
export function allowListFrom(configured: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): AllowList {
  return parseAllowList([...configured, ...(env.INGEST_HTTP_ALLOW ?? '').split(',')]);
}

const inAllowCidrs = (ip: string, allow: AllowList): boolean => {
  const family = isIP(ip);
  return family !== 0 && allow.cidrs.check(ip, family === 4 ? 'ipv4' : 'ipv6');
};

/** Is this host (name or literal) allow-listed as written? (Plain http needs it.) */
export function hostAllowListed(host: string, allow: AllowList): boolean {
  const h = normaliseHost(host);
  return allow.hosts.has(h) || inAllowCidrs(h, allow);
}

/**
 * The address decision: may a request connect to `ip` (for `host`, when known)? Denied classes are
 * allowed only when the address is in an allow-listed CIDR or the host is allow-listed by name.
 */
export function decideAddress(ip: string, allow: AllowList, host?: string): Decision {
  const addr = normaliseHost(ip);
  const family = isIP(addr);
  if (family === 0) return { allowed: false, reason: 'not-an-ip' };
  if (inAllowCidrs(addr, allow) || (host !== undefined && allow.hosts.has(normaliseHost(host)))) return { allowed: true, reason: 'allow-listed' };
  if (family === 6) {
    const v4 = embeddedIPv4(addr);
    if (v4) {
      const d = decideAddress(v4, allow);
      return d.allowed ? d : { allowed: false, reason: `ipv4-mapped-${d.reason}` };
    }
    const hit = v6Lists.find((l) => l.b.check(addr, 'ipv6'));
    if (hit) return { allowed: false, reason: hit.reason };
    return { allowed: true, reason: 'public' };
  }
  const hit = v4Lists.find((l) => l.b.check(addr, 'ipv4'));
  if (hit) return { allowed: false, reason: hit.reason };
  if (addr === '255.255.255.255') return { allowed: false, reason: 'broadcast' };
  return { allowed: true, reason: 'public' };
}

export class SsrfError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'SsrfError';
  }
}

export interface FetchOptions {
  readonly allow: AllowList;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly maxRedirects?: number;
  readonly headers?: Record<string, string>;
  /** Test hook: called with every address decision. */
  readonly onDecision?: (d: Decision & { host: string; ip: string }) => void;
}

export interface FetchResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The URL of the last hop. */
  readonly url: string;
}

/**
 * Decides whether a URL may be requested at all, before any connection: scheme, plain-http rule, and —
 * for an IP literal (which Node connects to without a lookup) — the address decision.
 */
export function checkUrl(url: URL, allow: AllowList, onDecision?: FetchOptions['onDecision']): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SsrfError('SSRF_SCHEME', `scheme ${url.protocol} is not allowed`);
  if (url.username || url.password) throw new SsrfError('SSRF_CREDENTIALS', 'URLs with credentials are not allowed');
  const host = normaliseHost(url.hostname);
  if (url.protocol === 'http:' && !hostAllowListed(host, allow)) throw new SsrfError('SSRF_PLAIN_HTTP', `plain http is allowed only for allow-listed hosts (${host})`);
  if (isIP(host)) {
    const d = decideAddress(host, allow, host);
    onDecision?.({ ...d, host, ip: host });
    if (!d.allowed) throw new SsrfError('SSRF_DENIED', `address ${host} denied (${d.reason})`);
  }
}

/** A `lookup` for http.request that resolves, then refuses any denied address (connect-time check). */
function guardedLookup(host: string, allow: AllowList, onDecision?: FetchOptions['onDecision']): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const d = decideAddress(a.address, allow, host);
        onDecision?.({ ...d, host, ip: a.address });
        if (!d.allowed) return callback(new SsrfError('SSRF_DENIED', `${host} resolves to a denied address ${a.address} (${d.reason})`), '', 0);
      }
      if (list.length === 0) return callback(new SsrfError('SSRF_DENIED', `${host} resolves to nothing`), '', 0);
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  }) as LookupFunction;
}

function requestOnce(url: URL, o: FetchOptions, deadline: number): Promise<FetchResult> {
  checkUrl(url, o.allow, o.onDecision);
  const host = normaliseHost(url.hostname);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise<FetchResult>((resolve, reject) => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return reject(new SsrfError('HTTP_TIMEOUT', 'time cap reached'));
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(e);
    };
    const req = lib.request(url, {
      method: 'GET',
      headers: { 'user-agent': 'graphrag-ingest', 'accept-encoding': 'identity', ...o.headers },
      lookup: guardedLookup(host, o.allow, o.onDecision),
      agent: false,
    }, (res) => {
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > o.maxBytes) return fail(new SsrfError('HTTP_TOO_LARGE', `response of ${declared} bytes exceeds the cap of ${o.maxBytes}`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxBytes) return fail(new SsrfError('HTTP_TOO_LARGE', `response exceeds the cap of ${o.maxBytes} bytes`));
        chunks.push(c);
      });
      res.on('error', fail);
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url: url.toString() });
      });
    });
    // Belt and braces: the peer address actually connected to is decided again.
    req.on('socket', (s: Socket) => {
      s.once('connect', () => {
        const ip = s.remoteAddress;
        if (!ip) return;
        const d = decideAddress(ip, o.allow, host);
        if (!d.allowed) fail(new SsrfError('SSRF_DENIED', `connected address ${ip} denied (${d.reason})`));
      });
    });
    req.on('error', fail);
    const timer = setTimeout(() => fail(new SsrfError('HTTP_TIMEOUT', `no complete response within ${o.timeoutMs} ms`)), remaining);
    req.end();
  });
}

/** GET with the SSRF guard on every hop; redirects followed manually (each hop re-checked). */
export async function guardedFetch(input: string, o: FetchOptions): Promise<FetchResult> {
  const deadline = Date.now() + o.timeoutMs;
  const maxRedirects = o.maxRedirects ?? 5;
  let url = new URL(input);
  for (let hop = 0; ; hop++) {
    const r = await requestOnce(url, o, deadline);
    if (r.status >= 300 && r.status < 400 && r.status !== 304 && r.headers.location) {
      if (hop >= maxRedirects) throw new SsrfError('HTTP_REDIRECTS', `more than ${maxRedirects} redirects`);
      url = new URL(r.headers.location, url);
      continue;
    }
    return r;
  }
}
