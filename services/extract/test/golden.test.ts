import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseMarkdown } from '@ingest/parse';
import { documentId, sectionId } from '@ingest/shared';
import { extractEntities } from '../src/index.js';

/**
 * Golden fixtures (DESIGN §13): for each test/fixtures/golden/<name>.md the exact sections, links,
 * entities, mentions, steps and references, hand-written in <name>.expected.json. Sections are named by
 * their anchor (`(preamble)` for the preamble), entities by `Kind:name`, so the files stay readable.
 */
const DIR = fileURLToPath(new URL('../../../test/fixtures/golden/', import.meta.url));
const PREAMBLE = '(preamble)';

interface Golden {
  sourceUri: string;
  tag: string;
  programs: string[];
  document: { title: string; description: string | null; tags: string[] };
  sections: { ref: string; title: string; headingPath: string[]; level: number; anchor: string; parent: string | null; text: string }[];
  links: { section: string; url: string }[];
  entities: { kind: string; name: string }[];
  mentions: { section: string; entity: string; count: number }[];
  steps: { procedure: string; order: number; step: string }[];
  references: { section: string; targetKind: string; target: string }[];
}

/** Run parse + extract on a fixture and express the result in the golden vocabulary. */
export function actualGolden(markdown: string, meta: Pick<Golden, 'sourceUri' | 'tag' | 'programs'>): Golden {
  const docId = documentId(meta.tag, meta.sourceUri);
  const parsed = parseMarkdown(markdown, { documentId: docId, sourceUri: meta.sourceUri });
  const out = extractEntities(
    { documentId: docId, sourceUri: meta.sourceUri, tag: meta.tag, sections: parsed.sections, links: parsed.links },
    { programs: meta.programs },
  );
  const ref = new Map(parsed.sections.map((s) => [s.id, s.anchor === '' ? PREAMBLE : s.anchor]));
  if (new Set(ref.values()).size !== parsed.sections.length) throw new Error('fixture sections must have unique anchors');
  // Ids are derived as DESIGN §4 says (the rest of the comparison is by name).
  const seen = new Map<string, number>();
  for (const s of parsed.sections) {
    const key = JSON.stringify(s.headingPath);
    const k = seen.get(key) ?? 0;
    seen.set(key, k + 1);
    if (s.id !== sectionId(docId, s.headingPath, k)) throw new Error(`unexpected id for section ${s.title}`);
  }
  const entityName = new Map(out.entities.map((e) => [e.id, `${e.kind}:${e.name}`]));
  const byId = new Map(out.entities.map((e) => [e.id, e]));
  return {
    sourceUri: meta.sourceUri,
    tag: meta.tag,
    programs: meta.programs,
    document: { title: parsed.title, description: parsed.description, tags: parsed.tags },
    sections: parsed.sections.map((s) => ({
      ref: ref.get(s.id)!,
      title: s.title,
      headingPath: [...s.headingPath],
      level: s.level,
      anchor: s.anchor,
      parent: s.parentId === null ? null : (ref.get(s.parentId) ?? `unknown ${s.parentId}`),
      text: s.text,
    })),
    links: parsed.links.map((l) => ({ section: ref.get(l.sectionId)!, url: l.url })),
    entities: out.entities.map((e) => ({ kind: e.kind, name: e.name })),
    mentions: out.mentions.map((m) => ({ section: ref.get(m.sectionId)!, entity: entityName.get(m.entityId)!, count: m.count })),
    steps: out.steps.map((s) => ({ procedure: byId.get(s.procedureId)!.name, order: s.order, step: byId.get(s.stepId)!.name })),
    references: out.references.map((r) => ({
      section: ref.get(r.sectionId)!,
      targetKind: r.targetKind,
      // Document targets are compared as ids: the expected file's URI goes through documentId (below).
      target: r.targetKind === 'Section' ? (ref.get(r.targetId) ?? `section ${r.targetId}`) : `document ${r.targetId}`,
    })),
  };
}

/** Every difference between two golden records, as readable lines (empty when equal). */
export function compareGolden(actual: Golden, expectedFile: Golden): string[] {
  const expected: Golden = {
    ...expectedFile,
    references: expectedFile.references.map((r) =>
      r.targetKind === 'Document' ? { ...r, target: `document ${documentId(expectedFile.tag, r.target)}` } : r,
    ),
  };
  const diffs: string[] = [];
  const walk = (a: unknown, e: unknown, path: string): void => {
    if (Array.isArray(e) || Array.isArray(a)) {
      if (!Array.isArray(a) || !Array.isArray(e)) {
        diffs.push(`${path}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
        return;
      }
      const n = Math.max(a.length, e.length);
      for (let i = 0; i < n; i++) {
        if (i >= a.length) diffs.push(`${path}[${i}]: missing ${JSON.stringify(e[i])}`);
        else if (i >= e.length) diffs.push(`${path}[${i}]: unexpected ${JSON.stringify(a[i])}`);
        else walk(a[i], e[i], `${path}[${i}]`);
      }
      return;
    }
    if (e !== null && typeof e === 'object' && a !== null && typeof a === 'object') {
      const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${path}.${k}`);
      return;
    }
    if (a !== e) diffs.push(`${path}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
  };
  walk(actual, expected, '$');
  return diffs;
}

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.md'))
  .map((f) => f.slice(0, -3))
  .sort();

const load = (name: string): { markdown: string; expected: Golden } => ({
  markdown: readFileSync(`${DIR}${name}.md`, 'utf8'),
  expected: JSON.parse(readFileSync(`${DIR}${name}.expected.json`, 'utf8')) as Golden,
});

describe('golden fixtures: parse + extract', () => {
  it('has at least five fixtures, each with an expected file', () => {
    expect(fixtures.length).to.be.at.least(5);
    for (const f of fixtures) expect(() => load(f)).to.not.throw();
  });

  for (const name of fixtures) {
    it(`${name}.md gives exactly ${name}.expected.json`, () => {
      const { markdown, expected } = load(name);
      const diffs = compareGolden(actualGolden(markdown, expected), expected);
      expect(diffs, diffs.join('\n')).to.deep.equal([]);
    });
  }

  describe('the comparison itself', () => {
    const { markdown, expected } = load('install-procedure');
    const actual = actualGolden(markdown, expected);
    const planted: [string, (g: Golden) => void][] = [
      ['a section text', (g) => (g.sections[1]!.text += ' ')],
      ['a parent', (g) => (g.sections[2]!.parent = null)],
      ['a missing entity', (g) => g.entities.pop()],
      ['an extra entity', (g) => g.entities.push({ kind: 'Command', name: 'ghost' })],
      ['a mention count', (g) => (g.mentions[2]!.count += 1)],
      ['a step order', (g) => (g.steps[0]!.order = 9)],
      ['a reference', (g) => g.references.push({ section: 'run', targetKind: 'Section', target: 'build' })],
      ['the title', (g) => (g.document.title = 'Other')],
      ['entity order', (g) => g.entities.reverse()],
    ];

    it('passes on the unmodified expectation', () => {
      expect(compareGolden(actual, expected)).to.deep.equal([]);
    });

    for (const [what, plant] of planted) {
      it(`fails on a planted difference in ${what}`, () => {
        const mutated = structuredClone(expected);
        plant(mutated);
        expect(compareGolden(actual, mutated)).to.not.deep.equal([]);
      });
    }

    it('fails on a planted difference in a document reference target or a link', () => {
      const anchors = load('anchors-preamble');
      const real = actualGolden(anchors.markdown, anchors.expected);
      expect(compareGolden(real, anchors.expected)).to.deep.equal([]);
      const wrongTarget = structuredClone(anchors.expected);
      wrongTarget.references[1]!.target = 'cli://golden/guide/faq.md';
      expect(compareGolden(real, wrongTarget)).to.have.length(1);
      const wrongLink = structuredClone(anchors.expected);
      wrongLink.links[0]!.section = 'replication';
      expect(compareGolden(real, wrongLink)).to.have.length(1);
    });
  });
});
