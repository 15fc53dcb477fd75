// Hostile input (issue 6, reliability.md §4, rows B1–B24) against one running system: `ingestctl up
// --processes` (parse in its own child process), ONE batch holding every content fixture plus ordinary
// documents. Each row ends in its documented reason code or a safe ingest within its time budget; the
// parse child keeps its pid (no process died) and its peak RSS stays under PARSE_RSS_BUDGET_MB; the
// ordinary documents are DONE. Source rows (B17–B20) go through the running spool watcher, the
// key → source URI → storage path, and the SSRF guard. One `it` per row, so the whole catalogue shows.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { globalEntityId, type JobState } from '@ingest/shared';
import { startChaosSystem, type ChaosSystem } from '../chaos/system.js';
import { readState } from '../chaos/golden-state.js';
import { contentFixtures, normalDocuments, type ContentFixture } from './fixtures.js';
import { memoryOf, oversizeUpload, startCanary, waitFinal, type Canary, type Finished } from './harness.js';
import { sourceRows, type SourceRows } from './source-rows.js';

const TAG = 'hostile';
/** Peak resident set of the parse process over the whole batch (a 10 MB line, 50,000 headings, …). */
const PARSE_RSS_BUDGET_MB = 1024;
const B6_BYTES = 100 * 1024 * 1024;

interface SectionDetail { text: string | null; title: string | null; entities: { id: string; kind: string; name: string }[] }
interface DocumentDetail { document_id: string; title: string; sections: { section_id: string; title: string }[] }

describe('hostile input: catalogue rows B1–B24 against one running system', function () {
  this.timeout(240_000);
  let sys: ChaosSystem;
  let canary: Canary;
  let computeBefore: Map<string, number>;
  let upHwmBefore: number;
  const markerPath = path.join('/tmp', `hostile-marker-${process.pid}`);
  const fixtures: ContentFixture[] = [];
  const byName = new Map<string, { fixture: ContentFixture; finished: Finished }>();
  const normals = new Map<string, Finished>();
  let b6: Awaited<ReturnType<typeof oversizeUpload>> & { seconds: number };
  let sources: SourceRows;
  const table: string[] = [];
  const note = (row: string, outcome: string, seconds?: number) => table.push(`${row.padEnd(4)} ${outcome}${seconds === undefined ? '' : ` (${seconds.toFixed(1)} s)`}`);

  const row = (name: string) => {
    const r = byName.get(name);
    if (!r) throw new Error(`no result for ${name}`);
    return r;
  };
  /** The fixture reached its expected end within its budget. */
  const expectEnd = (name: string) => {
    const { fixture, finished } = row(name);
    const s = finished.state;
    const e = fixture.expect;
    const got = `${s.status}${s.error ? ` ${s.error.code}` : ''}${s.status === 'SKIPPED' ? ` (${s.reason})` : ''}`;
    expect(s.status, `${name}: ${got} ${s.error?.message ?? ''}`).to.equal(e.status);
    if (e.status === 'REJECTED' || e.status === 'FAILED') expect(s.error?.code, name).to.equal(e.code);
    if (e.status === 'SKIPPED') expect(s.reason, name).to.equal(e.reason);
    expect(finished.seconds, `${name} within ${fixture.budgetS} s`).to.be.below(fixture.budgetS);
    note(fixture.row, `${name}: ${got}`, finished.seconds);
    return s;
  };
  const sectionsOf = async (name: string): Promise<SectionDetail[]> => {
    const uri = `cli://${TAG}/${name}`;
    const d = await sys.api.ok<DocumentDetail>('GET', `/api/document?source_uri=${encodeURIComponent(uri)}&tag=${TAG}`);
    return Promise.all(d.sections.map((s) => sys.api.ok<SectionDetail>('GET', `/api/sections/${s.section_id}`)));
  };

  before(async () => {
    canary = await startCanary('127.0.0.1');
    sys = await startChaosSystem();
    computeBefore = await sys.children();
    upHwmBefore = (await memoryOf(sys.up.pid!)).hwmMb;
    fixtures.push(...contentFixtures({ markerPath, canaryUrl: canary.url }));
    const started = Date.now();
    // One batch: every content fixture and the ordinary documents, submitted concurrently, plus the 100 MB upload.
    const upload = oversizeUpload(sys, B6_BYTES, `cli://${TAG}/b6-huge.md`).then((r) => ({ ...r, seconds: (Date.now() - started) / 1000 }));
    const docs = normalDocuments();
    const submitted = new Map<string, number>();
    const timed = async (name: string, bytes: Buffer) => {
      const t = Date.now();
      const id = await submitBytes(sys, name, bytes);
      submitted.set(id, t);
      return id;
    };
    const [ids, normalIds] = await Promise.all([
      Promise.all(fixtures.map((f) => timed(f.name, f.bytes))),
      Promise.all(docs.map((d) => timed(d.name, Buffer.from(d.text)))),
    ]);
    const done = await waitFinal(sys, [...ids, ...normalIds], submitted, 150_000);
    fixtures.forEach((f, i) => byName.set(f.name, { fixture: f, finished: done.get(ids[i]!)! }));
    normalIds.forEach((id, i) => normals.set(docs[i]!.name, done.get(id)!));
    b6 = await upload;
    console.log(`      [hostile] batch of ${ids.length} fixtures + ${normalIds.length} ordinary documents final in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const t = Date.now();
    sources = await sourceRows(sys, canary);
    console.log(`      [hostile] source rows (spool, S3 keys, SSRF) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    if (table.length > 0) console.log(`      [hostile] row → outcome (seconds from submission):\n${table.map((l) => `        ${l}`).join('\n')}`);
    await sys?.stop();
    await canary?.close();
  });

  it('the batch: ordinary documents DONE, compute processes never died, parse peak RSS under budget', async () => {
    for (const [name, f] of normals) expect(f.state.status, `${name} ${JSON.stringify(f.state.error)}`).to.equal('DONE');
    const after = await sys.children();
    for (const title of ['ingest-parse', 'ingest-extract', 'ingest-embed']) {
      expect(after.get(title), `${title} pid unchanged (no process died)`).to.equal(computeBefore.get(title));
    }
    expect(sys.up.exitCode).to.equal(null);
    const parse = await memoryOf(after.get('ingest-parse')!);
    expect(parse.hwmMb, 'parse process peak RSS').to.be.below(PARSE_RSS_BUDGET_MB);
    console.log(`      [hostile] parse process pid ${after.get('ingest-parse')}: peak RSS ${parse.hwmMb} MB (budget ${PARSE_RSS_BUDGET_MB} MB), now ${parse.rssMb} MB`);
  });

  it('B1 empty, whitespace-only: SKIPPED (empty); an empty new version never deletes the stored one', async () => {
    expectEnd('b1-empty.md');
    expectEnd('b1-whitespace.md');
    const before = (await readState(sys.api, TAG)).documents.find((d) => d.source_uri === `cli://${TAG}/normal-0.md`)!;
    const again = await sys.api.ok<JobState>('GET', `/api/jobs/${await submitBytes(sys, 'normal-0.md', Buffer.alloc(0))}`);
    expect([again.status, again.reason]).to.deep.equal(['SKIPPED', 'empty']);
    const kept = (await readState(sys.api, TAG)).documents.find((d) => d.source_uri === `cli://${TAG}/normal-0.md`);
    expect(kept).to.deep.equal(before);
  });

  it('B2 binary renamed .md (PNG, ELF, PDF magic; NUL-heavy): REJECTED NOT_TEXT', () => {
    for (const n of ['b2-png.md', 'b2-elf.md', 'b2-pdf.md', 'b2-nul-heavy.md']) expectEnd(n);
  });

  it('B3 invalid UTF-8: REJECTED INVALID_ENCODING', () => {
    expectEnd('b3-invalid-utf8.md');
  });

  it('B4 UTF-8 BOM: stripped before front matter; same checksum as without', () => {
    const a = expectEnd('b4-no-bom.md');
    const b = expectEnd('b4-bom.md');
    expect(b.checksum).to.equal(a.checksum).and.not.equal('');
  });

  it('B4 (stored): the BOM document keeps its front-matter title', async () => {
    const docs = (await readState(sys.api, TAG)).documents;
    expect(docs.find((d) => d.source_uri === `cli://${TAG}/b4-bom.md`)?.title).to.equal('Byte order mark');
  });

  it('B5 UTF-16 LE/BE with BOM decode to the UTF-8 checksum; without a BOM: REJECTED NOT_TEXT', () => {
    const u8 = expectEnd('b5-utf8.md');
    expect(expectEnd('b5-utf16le-bom.md').checksum).to.equal(u8.checksum);
    expect(expectEnd('b5-utf16be-bom.md').checksum).to.equal(u8.checksum);
    expectEnd('b5-utf16le-no-bom.md');
  });

  it('B6 100 MB body: 413 TOO_LARGE from the declared length, before the body is read; the API process does not grow by it', async () => {
    expect(b6.status).to.equal(413);
    expect(b6.body.code).to.equal('TOO_LARGE');
    expect(b6.bytesSent, 'bytes handed to the socket before the refusal').to.be.below(B6_BYTES / 2);
    // (up's own RSS is no measure here: it hosts the graph and vector stores the rest of the batch fills.)
    const hwm = (await memoryOf(sys.up.pid!)).hwmMb;
    note('B6', `100 MB upload: ${b6.status} ${b6.body.code}, ${Math.round(b6.bytesSent / 1048576)} MB handed to the socket before the answer (up peak RSS ${upHwmBefore} → ${hwm} MB over the whole batch)`, b6.seconds);
    // The spool path: the size comes from fstat and nothing is read.
    expect(sources.spoolTooLarge.status).to.equal('REJECTED');
    expect(sources.spoolTooLarge.error?.code).to.equal('TOO_LARGE');
    note('B6', `100 MB spool file: ${sources.spoolTooLarge.status} ${sources.spoolTooLarge.error?.code}`);
  });

  it('B7 a 10 MB line and a 1.6 M run of "<": DONE within budget', () => {
    expectEnd('b7-long-line.md');
    expectEnd('b7-lt-run.md');
  });

  it('B8 deeply nested blockquotes and lists: FAILED TOO_DEEP (no RangeError, no stalled lock)', () => {
    for (const n of ['b8-blockquotes.md', 'b8-dash-list.md', 'b8-nested-lists.md']) expectEnd(n);
  });

  it('B9 the same on the micromark/mdast stack (50,000 quote lines, a 1,200-level indented list): FAILED TOO_DEEP', () => {
    expectEnd('b9-quote-lines.md');
    expectEnd('b9-indented-list.md');
  });

  it('B10 pathological inline constructs: DONE within budget, bounded output', async () => {
    for (const n of ['b10-link-lt.md', 'b10-emph.md', 'b10-brackets.md', 'b10-backticks.md', 'b10-refdefs.md']) expectEnd(n);
    const text = (await sectionsOf('b10-brackets.md')).map((s) => s.text ?? '').join('');
    expect(text.length).to.be.below(3 * 100_100);
  });

  it('B11 advisory PoCs (marked, markdown-it) DONE within budget; neither parser is in the dependency tree', async () => {
    for (const n of ['b11-marked-def.md', 'b11-marked-reflink.md', 'b11-linkify.md', 'b11-smartquotes.md']) expectEnd(n);
    const lock = JSON.parse(await readFile(path.join(process.cwd(), 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    const found = Object.keys(lock.packages).filter((p) => /(^|\/)node_modules\/(marked|markdown-it)$/.test(p));
    expect(found, 'marked / markdown-it installed').to.deep.equal([]);
  });

  it('B12 50,000 headings: FAILED TOO_MANY_SECTIONS (over parse.maxSections) before any store write', async () => {
    expectEnd('b12-headings.md');
    const docs = (await readState(sys.api, TAG)).documents;
    expect(docs.some((d) => d.source_uri === `cli://${TAG}/b12-headings.md`)).to.equal(false);
  });

  it('B13 billion laughs and 70 KiB front matter: FAILED BAD_FRONT_MATTER', () => {
    expectEnd('b13-billion-laughs.md');
    expectEnd('b13-huge-front-matter.md');
  });

  it('B14 ---js / ---javascript front matter: FAILED BAD_FRONT_MATTER, never executed (no marker file)', () => {
    expectEnd('b14-js.md');
    expectEnd('b14-javascript.md');
    expect(existsSync(markerPath), `marker ${markerPath}`).to.equal(false);
  });

  it('B15 !!js/function, !!binary, dates, hex: DONE with plain strings, nothing executed', async () => {
    expectEnd('b15-tags.md');
    const doc = (await readState(sys.api, TAG)).documents.find((d) => d.source_uri === `cli://${TAG}/b15-tags.md`)!;
    expect(doc.title).to.match(/^function \(\) \{ require/);
    expect(existsSync(markerPath)).to.equal(false);
  });

  it('B16 script/iframe/on*/style/svg and javascript:/data: links: stored as inert text, no link fetched', async () => {
    expectEnd('b16-html.md');
    const text = (await sectionsOf('b16-html.md')).map((s) => s.text ?? '').join('\n');
    expect(text).to.include('Click text');
    expect(text).to.not.match(/<script|<iframe|onclick=|onload=|<svg|<style/i);
    expect(canary.connections(), 'connections to the canary named by the links').to.equal(0);
  });

  it('B17 symlinks, hard links, FIFOs in the spool: nothing from outside the root ingested', () => {
    expect(sources.b17.control, 'the control file beside them was ingested').to.equal('DONE');
    expect(sources.b17.admittedHostile).to.deep.equal([]);
    expect(sources.b17.secretStored).to.equal(false);
    note('B17', `${sources.b17.entries} hostile entries refused; control DONE`);
  });

  it('B18 path-traversal S3 keys: distinct opaque documents, no write outside the data dir', () => {
    expect(sources.b18.notDone).to.deep.equal([]);
    expect(sources.b18.distinctDocIds).to.equal(sources.b18.keys);
    expect(sources.b18.strayPaths).to.deep.equal([]);
    note('B18', `${sources.b18.keys} keys DONE as s3:// documents, 0 paths outside the data dir`);
  });

  it('B19 SSRF targets: every one refused by the guard, the canaries saw 0 connections', () => {
    expect(sources.b19.allowed).to.deep.equal([]);
    expect(sources.b19.canaryConnections).to.equal(0);
    note('B19', `${sources.b19.targets} targets refused (${sources.b19.codes.join(', ')}); canaries 0 connections`);
  });

  it('B20 hostile file names: canonical docIds, NFC/NFD twins are two documents, CLI output escaped', () => {
    expect(sources.b20.notDone).to.deep.equal([]);
    expect(sources.b20.docIdsCanonical).to.equal(true);
    expect(sources.b20.twins).to.equal(2);
    expect(sources.b20.rawControlInCli).to.deep.equal([]);
    expect(sources.b20.escapedInCli).to.equal(true);
    note('B20', `${sources.b20.names} names DONE; twins → 2 documents; invalid-UTF-8 name: ${sources.b20.invalidUtf8}`);
  });

  it('B21 zero-width and bidi characters: kept in text, removed from entity ids (no fragmentation)', async () => {
    expectEnd('b21-zero-width.md');
    const sections = await sectionsOf('b21-zero-width.md');
    const commands = sections.flatMap((s) => s.entities.filter((e) => e.kind === 'Command'));
    expect([...new Set(commands.map((e) => e.id))]).to.deep.equal([globalEntityId('Command', 'redis-cli')]);
    expect(sections[0]!.title).to.include('\u200B').and.include('\u202E');
  });

  it('B22 NUL inside text: stored as U+FFFD, never as U+0000', async () => {
    expectEnd('b22-nul.md');
    const text = (await sectionsOf('b22-nul.md')).map((s) => s.text ?? '').join('');
    expect(text).to.include('Before\uFFFDafter');
    expect(text).to.not.include('\u0000');
  });

  it('B23 a CRLF-only (or CR-only) change: SKIPPED (unchanged), no new generation', async () => {
    expectEnd('b23-line-endings.md');
    const lf = row('b23-line-endings.md').fixture.bytes.toString();
    for (const variant of [lf.replace(/\n/g, '\r\n'), lf.replace(/\n/g, '\r')]) {
      const s = await sys.api.ok<JobState>('GET', `/api/jobs/${await submitBytes(sys, 'b23-line-endings.md', Buffer.from(variant))}`);
      expect([s.status, s.reason]).to.deep.equal(['SKIPPED', 'unchanged']);
    }
  });

  it('B24 2 MB inline data: URIs: cut before chunking and embedding', async () => {
    expectEnd('b24-data-uri.md');
    const text = (await sectionsOf('b24-data-uri.md')).map((s) => s.text ?? '').join('');
    expect(text.length).to.be.below(2000);
    expect(text).to.not.match(/[A-Za-z0-9+/]{256}/);
    expect(text).to.include('omitted-600000-chars');
  });
});

async function submitBytes(sys: ChaosSystem, name: string, bytes: Buffer): Promise<string> {
  const q = new URLSearchParams({ source_uri: `cli://${TAG}/${name}`, tag: TAG });
  const r = await sys.api.request<{ job_id: string }>('POST', `/api/documents?${q}`, undefined, bytes);
  if (r.status >= 300) throw new Error(`submit ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.job_id;
}
