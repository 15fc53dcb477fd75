// Content fixtures of the hostile-input catalogue (reliability.md §4, rows B1–B16 and B21–B24), built in
// memory (the large ones are generated, never checked in). Each names the row, the bytes, and the end it
// must reach: a status with its reason code, or DONE with a property the suite checks on the stored data.
import { Buffer } from 'node:buffer';

export interface ContentFixture {
  readonly row: string;
  readonly name: string;
  readonly bytes: Buffer;
  /** The end state: status (and code for REJECTED/FAILED, reason for SKIPPED). */
  readonly expect: { status: 'DONE' } | { status: 'REJECTED' | 'FAILED'; code: string } | { status: 'SKIPPED'; reason: string };
  /**
   * Seconds from its own submission to the final status. Parse runs one job at a time here, so a budget
   * includes waiting behind the rest of the batch; it is sized for a loaded 2-core machine.
   */
  readonly budgetS: number;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** A byte-for-byte deterministic base64 blob of `n` characters (no randomness: ids stay stable). */
export const base64Blob = (n: number): string => Buffer.alloc(Math.ceil((n * 3) / 4), 0xa7).toString('base64').slice(0, n);

export const MARKER_ENV = 'HOSTILE_MARKER_PATH';

export function contentFixtures(o: { markerPath: string; canaryUrl: string }): ContentFixture[] {
  const f: ContentFixture[] = [];
  const add = (row: string, name: string, bytes: Buffer | string, expect: ContentFixture['expect'], budgetS = 60) =>
    f.push({ row, name, bytes: typeof bytes === 'string' ? utf8(bytes) : bytes, expect, budgetS });

  // B1: empty, whitespace-only → SKIPPED (empty), no flow at all.
  add('B1', 'b1-empty.md', '', { status: 'SKIPPED', reason: 'empty' }, 10);
  add('B1', 'b1-whitespace.md', ' \n\t\r\n   \n', { status: 'SKIPPED', reason: 'empty' }, 10);

  // B2: binary formats with a .md name, and NUL-heavy bytes → REJECTED NOT_TEXT before any parser.
  add('B2', 'b2-png.md', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(512, 7)]), { status: 'REJECTED', code: 'NOT_TEXT' }, 10);
  add('B2', 'b2-elf.md', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(512)]), { status: 'REJECTED', code: 'NOT_TEXT' }, 10);
  add('B2', 'b2-pdf.md', utf8('%PDF-1.7\n%âãÏÓ\n1 0 obj\n'), { status: 'REJECTED', code: 'NOT_TEXT' }, 10);
  add('B2', 'b2-nul-heavy.md', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i % 3 === 0 ? 0 : 0x41))), { status: 'REJECTED', code: 'NOT_TEXT' }, 10);

  // B3: invalid UTF-8 (a lone continuation byte, an overlong encoding, a truncated sequence).
  add('B3', 'b3-invalid-utf8.md', Buffer.concat([utf8('# Title\n\nText '), Buffer.from([0x80, 0xc0, 0xaf, 0xe2, 0x82])]), { status: 'REJECTED', code: 'INVALID_ENCODING' }, 10);

  // B4: the same document with and without a UTF-8 BOM; the front matter must still be found.
  const b4 = '---\ntitle: Byte order mark\n---\n# Heading\n\nThe BOM must be stripped before front matter detection.\n';
  add('B4', 'b4-no-bom.md', b4, { status: 'DONE' });
  add('B4', 'b4-bom.md', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(b4)]), { status: 'DONE' });

  // B5: UTF-16 with a BOM is decoded (same checksum as its UTF-8 twin); without a BOM it is NUL-heavy → NOT_TEXT.
  const b5 = '# UTF-16 document\n\nDecoded by its byte order mark: \u00e9\u00e8 \u4e2d\u6587.\n';
  const le = Buffer.from(b5, 'utf16le');
  const be = Buffer.from(le).swap16();
  add('B5', 'b5-utf8.md', b5, { status: 'DONE' });
  add('B5', 'b5-utf16le-bom.md', Buffer.concat([Buffer.from([0xff, 0xfe]), le]), { status: 'DONE' });
  add('B5', 'b5-utf16be-bom.md', Buffer.concat([Buffer.from([0xfe, 0xff]), be]), { status: 'DONE' });
  add('B5', 'b5-utf16le-no-bom.md', le, { status: 'REJECTED', code: 'NOT_TEXT' }, 10);

  // B7: a 10 MB line without a newline (under the 10 MiB cap), and a 1.6 M run of '<' (markdown-it#737).
  add('B7', 'b7-long-line.md', `# Long line\n\n${'abcdefghij'.repeat(1_000_000)}`, { status: 'DONE' }, 90);
  add('B7', 'b7-lt-run.md', `# Angle brackets\n\n${'<'.repeat(1_600_000)}`, { status: 'DONE' }, 60);

  // B8: deep nesting → TOO_DEEP from the pre-scan, never a RangeError.
  add('B8', 'b8-blockquotes.md', `${'> '.repeat(50_000)}a`, { status: 'FAILED', code: 'TOO_DEEP' }, 60);
  add('B8', 'b8-dash-list.md', `${'- '.repeat(5_000)}a`, { status: 'FAILED', code: 'TOO_DEEP' }, 60);
  add('B8', 'b8-nested-lists.md', Array.from({ length: 1_000 }, (_, i) => `${'  '.repeat(i)}- item ${i}`).join('\n'), { status: 'FAILED', code: 'TOO_DEEP' }, 60);

  // B9: the unified-stack cases (KiroCrew PR #10753): 50,000 blockquote markers over lines, a 1,200-level indented list.
  add('B9', 'b9-quote-lines.md', Array.from({ length: 50_000 }, (_, i) => `${'>'.repeat(Math.min(i + 1, 200))} q`).join('\n'), { status: 'FAILED', code: 'TOO_DEEP' }, 60);
  add('B9', 'b9-indented-list.md', Array.from({ length: 1_200 }, (_, i) => `${'    '.repeat(i)}1. x`).join('\n'), { status: 'FAILED', code: 'TOO_DEEP' }, 60);

  // B10: pathological inline constructs (cmark's pathological corpus) → DONE within the budget.
  add('B10', 'b10-link-lt.md', `# Links\n\n${'[a](<b'.repeat(50_000)}`, { status: 'DONE' }, 60);
  add('B10', 'b10-emph.md', `# Emphasis\n\n${'*a_ '.repeat(50_000)}`, { status: 'DONE' }, 60);
  add('B10', 'b10-brackets.md', `# Brackets\n\n${'['.repeat(50_000)}a${']'.repeat(50_000)}`, { status: 'DONE' }, 60);
  add('B10', 'b10-backticks.md', `# Backticks\n\n${Array.from({ length: 5_000 }, (_, i) => '`'.repeat(i % 50 + 1)).join(' a ')}`, { status: 'DONE' }, 60);
  add('B10', 'b10-refdefs.md', `# References\n\n${Array.from({ length: 20_000 }, (_, i) => `[r${i}]: /u${i}`).join('\n')}\n\n${Array.from({ length: 20_000 }, (_, i) => `[r${i}]`).join(' ')}\n`, { status: 'DONE' }, 60);

  // B11: the proof-of-concept strings of the marked / markdown-it advisories, kept as regression fixtures.
  add('B11', 'b11-marked-def.md', `# marked block.def\n\n[x]:${' '.repeat(20_000)}x${' '.repeat(20_000)}x\n`, { status: 'DONE' }, 60);
  add('B11', 'b11-marked-reflink.md', `# marked reflinkSearch\n\n[x]: x\n\n${'[x]'.repeat(1)}${'[]'.repeat(20_000)}\n`, { status: 'DONE' }, 60);
  add('B11', 'b11-linkify.md', `# linkify\n\n${'a@'.repeat(20_000)}\n\n${'http://'.repeat(5_000)}\n`, { status: 'DONE' }, 60);
  add('B11', 'b11-smartquotes.md', `# smartquotes\n\n${'"a\''.repeat(30_000)}\n`, { status: 'DONE' }, 60);

  // B12: 50,000 headings → the per-document section cap.
  add('B12', 'b12-headings.md', Array.from({ length: 50_000 }, (_, i) => `# h${i}`).join('\n'), { status: 'FAILED', code: 'TOO_MANY_SECTIONS' }, 60);

  // B13: billion laughs through anchors and aliases, and front matter over 64 KiB.
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const p = String.fromCharCode(96 + i);
    const c = String.fromCharCode(97 + i);
    laughs.push(`${c}: &${c} [${Array(9).fill(`*${p}`).join(',')}]`);
  }
  add('B13', 'b13-billion-laughs.md', `---\n${laughs.join('\n')}\ntitle: laughs\n---\n# Body\n\ntext\n`, { status: 'FAILED', code: 'BAD_FRONT_MATTER' }, 60);
  add('B13', 'b13-huge-front-matter.md', `---\ntitle: big\nfiller: "${'x'.repeat(70 * 1024)}"\n---\n# Body\n\ntext\n`, { status: 'FAILED', code: 'BAD_FRONT_MATTER' }, 60);

  // B14: executable front matter (gray-matter evaluates these): a payload that would write a marker file.
  const js = `require('fs').writeFileSync(${JSON.stringify(o.markerPath)}, 'pwned'); module.exports = { title: 'pwned' }`;
  add('B14', 'b14-js.md', `---js\n${js}\n---\n# Body\n\ntext\n`, { status: 'FAILED', code: 'BAD_FRONT_MATTER' }, 60);
  add('B14', 'b14-javascript.md', `---javascript\n({ title: (require('fs').writeFileSync(${JSON.stringify(o.markerPath)}, 'pwned'), 'x') })\n---\n# Body\n\ntext\n`, { status: 'FAILED', code: 'BAD_FRONT_MATTER' }, 60);

  // B15: custom tags and type confusion load with the core schema: never executed, values become plain strings.
  add('B15', 'b15-tags.md', `---\ntitle: !!js/function "function () { require('fs').writeFileSync('${o.markerPath}', 'x') }"\ndescription: !!binary aGVsbG8=\ntags: [2024-01-01, 0x1F, 1e3, true, ~]\n---\n# Typed\n\nBody.\n`, { status: 'DONE' }, 60);

  // B16: active HTML and dangerous links are stored as text; no link is ever fetched.
  add('B16', 'b16-html.md', [
    '# Active content',
    '',
    '<script>fetch("' + o.canaryUrl + '/script")</script>',
    '',
    '<iframe src="' + o.canaryUrl + '/iframe"></iframe>',
    '',
    '<div onclick="alert(1)" style="background:url(' + o.canaryUrl + '/css)">Click text</div>',
    '',
    '<style>body { background: url(' + o.canaryUrl + '/style) }</style>',
    '',
    '<svg onload="alert(1)"><image href="' + o.canaryUrl + '/svg"/></svg>',
    '',
    `A [js link](javascript:fetch('${o.canaryUrl}/js')) and a [data link](data:text/html,<script>alert(1)</script>) and ![an image](${o.canaryUrl}/img.png) and <${o.canaryUrl}/autolink>.`,
    '',
  ].join('\n'), { status: 'DONE' }, 60);

  // B21: zero-width and bidi characters inside command names and a heading.
  add('B21', 'b21-zero-width.md', [
    '# Zero\u200Bwidth \u202Eevil\u202C heading',
    '',
    'Run `redis\u200B-cli ping` and `redis\u2060-cli info` and `\uFEFFredis-cli get`.',
    '',
    '```sh',
    'redis\u200C-cli --tls ping',
    '```',
  ].join('\n'), { status: 'DONE' }, 60);

  // B22: a few NULs (under the control-byte ratio) and other C0 controls inside valid text.
  add('B22', 'b22-nul.md', `# NUL\n\nBefore\u0000after and a bell \u0007 and a backspace \u0008 in ${'normal text '.repeat(20)}.\n`, { status: 'DONE' }, 60);

  // B23: the LF version ingested first; its CRLF twin is submitted after it is DONE (see the suite).
  add('B23', 'b23-line-endings.md', '# Line endings\n\nFirst line.\nSecond line.\n\n## Part\n\nMore text.\n', { status: 'DONE' }, 60);

  // B24: a 2 MB base64 image inline, as an autolink, a link and bare text.
  const blob = base64Blob(2_000_000);
  add('B24', 'b24-data-uri.md', [
    '# Inline images',
    '',
    `An image ![logo](data:image/png;base64,${blob}) inline.`,
    '',
    `An autolink <data:image/png;base64,${blob.slice(0, 300_000)}> and a [link](data:image/png;base64,${blob.slice(0, 300_000)}).`,
    '',
    `Bare text data:image/png;base64,${blob.slice(0, 600_000)} end.`,
    '',
  ].join('\n'), { status: 'DONE' }, 60);
  return f;
}

/** Ordinary documents in the same batch: they must all be DONE. */
export function normalDocuments(n = 5): { name: string; text: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `normal-${i}.md`,
    text: `# Normal ${i}\n\nRun \`redis-cli info\` then \`git status\` (${i}).\n\n## Details\n\n${'lorem ipsum dolor '.repeat(30)}\n`,
  }));
}
