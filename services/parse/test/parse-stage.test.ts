import { expect } from 'chai';
import { artifactKeys } from '@ingest/shared';
import { parseMarkdown, ParsePool, parseStage } from '../src/index.js';
import { artifactJson } from '../src/artifact-json.js';
import { ctx, job, openStageFixture, type StageFixture } from '../../../test/helpers/stage-fixture.js';

/** Chapters with non-Latin-1 text (2-byte strings, 3- and 4-byte UTF-8), links, code and a reference definition. */
function bigDoc(chapters: number): string {
  const chapter = (i: number) =>
    `# Kapitel ${i} — café 🚀\n\nSee [the index][idx] and [inline](c${i}.md). Ünïcödé "quotes" \\ back\\slash.\n\n` +
    `## Setup ${i}\n\n${'wörd '.repeat(40)}\n\n\`\`\`sh\nredis-cli -p ${i}\n\`\`\`\n\n| Parameter | Description |\n|---|---|\n| \`p${i}\` | π ≈ 3.14 |\n\n`;
  return `---\ntitle: Großes Dokument\ntags: [a, b]\ndescription: "ein \\"Test\\""\n---\n` + Array.from({ length: chapters }, (_, i) => chapter(i)).join('') + '[idx]: /index.md\n';
}

describe('parse: the artifact serialised in the worker thread', function () {
  this.timeout(120_000);
  let f: StageFixture;
  let pool: ParsePool;
  before(async () => {
    f = await openStageFixture();
    pool = new ParsePool({ size: 2, warmThreads: 1, timeoutMs: 60_000 });
  });
  after(async () => {
    await pool.close();
    await f?.close();
  });

  const opts = { documentId: 'doc-s', sourceUri: 'cli://st/s.md' };

  it('artifactJson gives the bytes of JSON.stringify of the artifact', () => {
    for (const text of [bigDoc(30), '# Only\n\ntext', '']) {
      const d = parseMarkdown(text, opts);
      const expected = Buffer.from(JSON.stringify({ title: d.title, description: d.description, tags: d.tags, sections: d.sections, links: d.links }));
      expect(Buffer.from(artifactJson(d)).equals(expected)).to.equal(true);
    }
  });

  it('stores the same parsed.json bytes as serialising the sections in the stage process', async () => {
    const cases = [
      { text: bigDoc(60), o: { segmentBytes: 1024 } }, // many segments: the big-document path
      { text: bigDoc(2), o: {} },
      { text: '---\ntitle: Index\ndescription: only front matter\n---\n', o: {} }, // no sections: the stage makes one
    ];
    for (const [n, { text, o }] of cases.entries()) {
      const stored: Buffer[] = [];
      for (const serialise of [false, true]) {
        const j = job(`cli://st/s${n}-${serialise}.md`, 1);
        await f.artifacts.put(artifactKeys.source(j.jobId), Buffer.from(text));
        const parse = (t: string, x: { documentId: string; sourceUri: string }) =>
          serialise ? pool.parseSerialised(t, { ...x, ...o, documentId: 'doc-s' }) : pool.parse(t, { ...x, ...o, documentId: 'doc-s' });
        const r = await parseStage({ job: { ...j, documentId: 'doc-s' }, upstream: undefined }, { artifacts: f.artifacts, parse }, ctx());
        expect(r.counts.sections).to.be.greaterThan(0);
        stored.push(Buffer.from((await f.artifacts.get(artifactKeys.parsed(j.jobId)))!));
      }
      expect(stored[1]!.equals(stored[0]!), `case ${n}`).to.equal(true);
    }
    const d = await pool.parseSerialised(bigDoc(2), opts);
    expect(d).to.have.property('json').that.is.instanceOf(Uint8Array);
    expect(await pool.parseSerialised('---\ntitle: T\n---\n', opts)).to.have.property('sections').that.deep.equals([]);
  });
});
