/**
 * The GraphStore contract (shared/src/ports/graph-store.ts), run against every implementation.
 *
 * Every test works on documents under a tag of its own and measures global counts as deltas, so the suite
 * also holds on a shared server (Neo4j) where `cleanup` may not empty the store between tests.
 *
 * counts(documentId) is defined as: documents 0|1; sections of the document; entities its sections mention
 * plus the steps of the procedures they mention; mentions = MENTIONS edges leaving its sections; edges =
 * every edge leaving its sections (FROM_DOCUMENT, NEXT_CHUNK, HAS_SUBSECTION, MENTIONS, REFERENCES) plus
 * HAS_STEP of the procedures they mention. counts() without an id counts nodes and edges of every kind.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type {
  EntityRecord,
  GraphDocumentVersion,
  MentionRecord,
  ReferenceRecord,
  SectionRecord,
  StepRecord,
} from '../../src/domain/model.js';
import { PermanentError } from '../../src/errors/errors.js';
import { documentId, globalEntityId, scopedEntityId, sectionId, sha256Hex } from '../../src/ids/ids.js';
import type { GraphCounts, GraphStore } from '../../src/ports/graph-store.js';

export interface SectionSpec {
  /** Heading path, this section included ([] for the preamble). */
  readonly path: readonly string[];
  readonly text?: string;
  /** Shared Command entities, by name; repeat a name to raise the MENTIONS count. */
  readonly commands?: readonly string[];
  readonly parameters?: readonly string[];
  readonly procedure?: { readonly name: string; readonly steps: readonly string[] };
  /** Ids of documents / sections this section links to. */
  readonly refDocuments?: readonly string[];
  readonly refSections?: readonly string[];
}

export interface DocumentSpec {
  readonly tag: string;
  readonly uri: string;
  readonly generation: number;
  readonly title?: string;
  readonly sections: readonly SectionSpec[];
}

/** A version built with the real id helpers, as parse + extract would hand it to the graph stage. */
export function buildVersion(spec: DocumentSpec): GraphDocumentVersion {
  const docId = documentId(spec.tag, spec.uri);
  const idByPath = new Map<string, string>();
  const sections: SectionRecord[] = [];
  const entities = new Map<string, EntityRecord>();
  const mentions = new Map<string, MentionRecord>();
  const steps: StepRecord[] = [];
  const references: ReferenceRecord[] = [];
  const mention = (sid: string, entity: EntityRecord): void => {
    entities.set(entity.id, entity);
    const key = `${sid}/${entity.id}`;
    mentions.set(key, { sectionId: sid, entityId: entity.id, count: (mentions.get(key)?.count ?? 0) + 1 });
  };
  spec.sections.forEach((s, ordinal) => {
    const id = sectionId(docId, s.path, 0);
    idByPath.set(JSON.stringify(s.path), id);
    const text = s.text ?? `${s.path.join(' / ') || 'preamble'} of ${spec.uri} at g${spec.generation}`;
    sections.push({
      id,
      documentId: docId,
      ordinal,
      level: s.path.length,
      title: s.path[s.path.length - 1] ?? '',
      headingPath: [...s.path],
      anchor: (s.path[s.path.length - 1] ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      text,
      tokenCount: text.split(/\s+/).filter(Boolean).length,
      contentHash: sha256Hex(text),
      parentId: s.path.length > 1 ? (idByPath.get(JSON.stringify(s.path.slice(0, -1))) ?? null) : null,
    });
    for (const c of s.commands ?? []) mention(id, { id: globalEntityId('Command', c), kind: 'Command', name: c });
    for (const p of s.parameters ?? []) mention(id, { id: globalEntityId('Parameter', p), kind: 'Parameter', name: p });
    if (s.procedure) {
      const procedureId = scopedEntityId(id, 'Procedure', s.procedure.name);
      mention(id, { id: procedureId, kind: 'Procedure', name: s.procedure.name });
      s.procedure.steps.forEach((name, k) => {
        const stepId = scopedEntityId(id, 'Step', k + 1);
        entities.set(stepId, { id: stepId, kind: 'Step', name });
        steps.push({ procedureId, stepId, order: k + 1 });
      });
    }
    for (const t of s.refDocuments ?? []) references.push({ sectionId: id, targetKind: 'Document', targetId: t });
    for (const t of s.refSections ?? []) references.push({ sectionId: id, targetKind: 'Section', targetId: t });
  });
  return {
    document: {
      id: docId,
      sourceUri: spec.uri,
      tag: spec.tag,
      title: spec.title ?? `Title of ${spec.uri}`,
      checksum: sha256Hex(sections.map((s) => s.text).join('\n')),
      generation: spec.generation,
      contentType: 'text/markdown',
      updatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, spec.generation)).toISOString(),
    },
    sections,
    entities: [...entities.values()],
    mentions: [...mentions.values()],
    steps,
    references,
  };
}

/** counts(documentId) a store must report for `v` once written, given which reference targets exist. */
export function expectedCounts(v: GraphDocumentVersion, existingTargets: ReadonlySet<string> = new Set()): GraphCounts {
  const ids = new Set(v.sections.map((s) => s.id));
  const refs = v.references.filter((r) => ids.has(r.targetId) || existingTargets.has(r.targetId)).length;
  const parents = v.sections.filter((s) => s.parentId !== null).length;
  const edges = v.sections.length + Math.max(0, v.sections.length - 1) + parents + v.mentions.length + refs + v.steps.length;
  return { documents: 1, sections: v.sections.length, entities: v.entities.length, mentions: v.mentions.length, edges };
}

const ZERO: GraphCounts = { documents: 0, sections: 0, entities: 0, mentions: 0, edges: 0 };
const delta = (a: GraphCounts, b: GraphCounts): GraphCounts => ({
  documents: b.documents - a.documents,
  sections: b.sections - a.sections,
  entities: b.entities - a.entities,
  mentions: b.mentions - a.mentions,
  edges: b.edges - a.edges,
});
const mentionMap = (v: GraphDocumentVersion, sid: string): Map<string, number> =>
  new Map(v.mentions.filter((m) => m.sectionId === sid).map((m) => [m.entityId, m.count]));

export function graphStoreContract(name: string, open: () => Promise<GraphStore>, cleanup?: () => Promise<void>): void {
  describe(`GraphStore contract: ${name}`, function () {
    let store: GraphStore;
    let tag: string;
    const uri = (n: string | number): string => `cli://${tag}/docs/${n}.md`;
    const doc = (n: string | number, generation: number, sections: SectionSpec[], title?: string): GraphDocumentVersion =>
      buildVersion({ tag, uri: uri(n), generation, sections, ...(title ? { title } : {}) });
    const guide = (n: string | number, generation: number, extra: Partial<SectionSpec> = {}): GraphDocumentVersion =>
      doc(n, generation, [
        { path: ['Guide'], commands: ['redis-cli'] },
        { path: ['Guide', 'Install'], commands: ['redis-server', 'redis-cli', 'redis-cli'], procedure: { name: 'Install', steps: ['download', 'build', 'run'] }, ...extra },
        { path: ['Guide', 'Configure'], parameters: ['maxmemory', '--port'] },
      ]);

    beforeEach(async () => {
      tag = `t-${randomUUID().slice(0, 8)}`;
      store = await open();
    });
    afterEach(async () => {
      await store?.close();
      await cleanup?.();
    });

    it('writes a version: document, sections stamped with the generation, mentions, counts', async () => {
      const v = guide('a', 3);
      const result = await store.writeVersion(v);
      expect(result).to.deep.equal({ applied: true, sectionsWritten: 3, entitiesWritten: v.entities.length, mentionsWritten: v.mentions.length });
      const d = await store.getDocument(v.document.id);
      expect(d).to.deep.equal({
        id: v.document.id, sourceUri: uri('a'), tag, title: v.document.title, checksum: v.document.checksum,
        generation: 3, completedGeneration: null, pipelineVersion: null,
      });
      const hashes = await store.sectionHashes(v.document.id);
      expect(hashes).to.have.deep.members(v.sections.map((s) => ({ id: s.id, contentHash: s.contentHash, generation: 3 })));
      expect(await store.mentionsOf(v.sections[1]!.id)).to.deep.equal(mentionMap(v, v.sections[1]!.id));
      expect((await store.mentionsOf(v.sections[1]!.id)).get(globalEntityId('Command', 'redis-cli'))).to.equal(2);
      expect(await store.counts(v.document.id)).to.deep.equal(expectedCounts(v));
      expect(await store.getDocument(documentId(tag, uri('missing')))).to.equal(null);
    });

    it('is idempotent: the same version twice leaves identical counts', async () => {
      const v = guide('a', 1);
      const before = await store.counts();
      await store.writeVersion(v);
      const once = await store.counts();
      const onceDoc = await store.counts(v.document.id);
      const again = await store.writeVersion(v);
      expect(again.applied).to.equal(true);
      expect(await store.counts()).to.deep.equal(once);
      expect(await store.counts(v.document.id)).to.deep.equal(onceDoc);
      const { entities: _shared, ...expected } = expectedCounts(v); // shared entities may pre-exist on a server
      const { entities: _e, ...grown } = delta(before, once);
      expect(grown).to.deep.equal(expected);
    });

    it('replaces the outgoing edges of every section it writes', async () => {
      const base = await store.counts();
      const v1 = guide('a', 1);
      await store.writeVersion(v1);
      // g2: Install mentions one other command and drops its procedure; Run brings one; the order changes.
      const v2 = doc('a', 2, [
        { path: ['Guide'], commands: ['redis-cli'] },
        { path: ['Guide', 'Configure'], parameters: ['maxmemory'] },
        { path: ['Guide', 'Install'], commands: ['redis-benchmark'] },
        { path: ['Guide', 'Run'], procedure: { name: 'Run', steps: ['start', 'check'] } },
      ]);
      const result = await store.writeVersion(v2);
      expect(result.applied).to.equal(true);
      const install = v2.sections[2]!.id;
      expect(install).to.equal(v1.sections[1]!.id); // same heading path → same id
      expect(await store.mentionsOf(install)).to.deep.equal(mentionMap(v2, install));
      expect(await store.mentionsOf(install)).to.not.have.key(globalEntityId('Command', 'redis-server'));
      expect(await store.counts(v2.document.id)).to.deep.equal(expectedCounts(v2));
      // the dropped procedure's HAS_STEP went too: every edge in the store is one of v2's
      expect((await store.counts()).edges - base.edges).to.equal(expectedCounts(v2).edges);
      const [configure] = await store.expand([v2.sections[1]!.id]);
      expect(configure!.previous?.id).to.equal(v2.sections[0]!.id);
      expect(configure!.next?.id).to.equal(install);
      expect(configure!.entities.map((e) => e.name)).to.deep.equal(['maxmemory']);
    });

    it('documentGraph returns every section property, every edge with its properties and the entities at their ends', async () => {
      const target = guide('target', 1);
      await store.writeVersion(target);
      const v = doc('a', 2, [
        { path: ['Guide'], commands: ['redis-cli', 'redis-cli'], refDocuments: [target.document.id] },
        { path: ['Guide', 'Install'], procedure: { name: 'Install', steps: ['download', 'run'] }, refSections: [target.sections[0]!.id] },
      ]);
      await store.writeVersion(v);
      const g = await store.documentGraph(v.document.id);
      const [guideId, installId] = v.sections.map((s) => s.id) as [string, string];
      expect([...g.sections].sort((a, b) => a.ordinal - b.ordinal)).to.deep.equal(v.sections.map(({ parentId: _p, ...s }) => ({ ...s, generation: 2 })));
      const procedure = v.entities.find((e) => e.kind === 'Procedure')!;
      const edge = (type: string, from: string, to: string, properties: Record<string, number> = {}) => ({ type, from, to, properties });
      const key = (e: { type: string; from: string; to: string }) => `${e.type} ${e.from} ${e.to}`;
      expect([...g.edges].sort((a, b) => key(a).localeCompare(key(b)))).to.deep.equal([
        edge('FROM_DOCUMENT', guideId, v.document.id), edge('FROM_DOCUMENT', installId, v.document.id),
        edge('HAS_STEP', procedure.id, v.steps[0]!.stepId, { order: 1 }), edge('HAS_STEP', procedure.id, v.steps[1]!.stepId, { order: 2 }),
        edge('HAS_SUBSECTION', guideId, installId),
        edge('MENTIONS', guideId, globalEntityId('Command', 'redis-cli'), { count: 2 }), edge('MENTIONS', installId, procedure.id, { count: 1 }),
        edge('NEXT_CHUNK', guideId, installId),
        edge('REFERENCES', guideId, target.document.id), edge('REFERENCES', installId, target.sections[0]!.id),
      ].sort((a, b) => key(a).localeCompare(key(b))));
      const byEntityId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
      expect([...g.entities].sort(byEntityId)).to.deep.equal([...v.entities].sort(byEntityId));
      expect(await store.documentGraph(documentId(tag, uri('none')))).to.deep.equal({ sections: [], entities: [], edges: [] });
    });

    it('takes a section\'s parent from its new record', async () => {
      await store.writeVersion(doc('a', 1, [{ path: ['A'] }, { path: ['A', 'B'] }]));
      const v2 = doc('a', 2, [{ path: ['Other'] }, { path: ['A', 'B'] }]); // B's old parent is not in g2
      expect(v2.sections[1]!.parentId).to.equal(null);
      await store.writeVersion(v2);
      const [b] = await store.expand([v2.sections[1]!.id]);
      expect(b).to.deep.include({ parent: null, previous: { id: v2.sections[0]!.id, title: 'Other' } });
    });

    it('rewrites a deleted document without doubling the steps its procedures kept', async () => {
      const base = await store.counts();
      const v1 = guide('a', 1);
      await store.writeVersion(v1);
      await store.deleteDocument(v1.document.id); // its procedure and steps wait for the janitor
      const v2 = guide('a', 2);
      await store.writeVersion(v2);
      expect(await store.counts(v2.document.id)).to.deep.equal(expectedCounts(v2));
      const { entities: _e, ...grown } = delta(base, await store.counts());
      const { entities: _x, ...expected } = expectedCounts(v2);
      expect(grown).to.deep.equal(expected);
    });

    it('removeSectionsExcept removes the other sections of the document and their edges', async () => {
      const v1 = doc('a', 1, [
        { path: ['A'], commands: ['redis-cli'] },
        { path: ['A', 'B'], commands: ['only-b'], procedure: { name: 'Do', steps: ['x'] } },
        { path: ['A', 'C'], parameters: ['timeout'] },
        { path: ['D'], commands: ['redis-cli'] },
      ]);
      const other = guide('other', 1);
      await store.writeVersion(v1);
      await store.writeVersion(other);
      const otherCounts = await store.counts(other.document.id);
      const v2 = doc('a', 2, [{ path: ['A'], commands: ['redis-cli'] }, { path: ['D'] }]);
      await store.writeVersion(v2);
      expect((await store.counts(v1.document.id)).sections).to.equal(4); // old sections stay until removed
      const removed = await store.removeSectionsExcept(v1.document.id, v2.sections.map((s) => s.id));
      expect(removed).to.equal(2);
      expect((await store.sectionHashes(v1.document.id)).map((h) => h.id)).to.have.members(v2.sections.map((s) => s.id));
      expect(await store.mentionsOf(v1.sections[1]!.id)).to.deep.equal(new Map());
      expect(await store.expand([v1.sections[1]!.id, v1.sections[2]!.id])).to.deep.equal([]);
      expect(await store.counts(v1.document.id)).to.deep.equal(expectedCounts(v2));
      expect(await store.counts(other.document.id)).to.deep.equal(otherCounts);
      expect(await store.removeSectionsExcept(v1.document.id, v2.sections.map((s) => s.id))).to.equal(0);
      expect(await store.removeSectionsExcept(v1.document.id, [])).to.equal(2);
      expect(await store.counts(v1.document.id)).to.include({ documents: 1, sections: 0, mentions: 0, edges: 0 });
    });

    it('holds the generation fence: g1 offered after g2 is refused and writes nothing', async () => {
      const g2 = doc('a', 2, [{ path: ['New'], commands: ['new-cmd'] }], 'Title g2');
      const g1 = doc('a', 1, [{ path: ['Old'], commands: ['old-cmd'] }, { path: ['Older'] }], 'Title g1');
      await store.writeVersion(g2);
      const before = await store.counts();
      const refused = await store.writeVersion(g1);
      expect(refused).to.deep.equal({ applied: false, sectionsWritten: 0, entitiesWritten: 0, mentionsWritten: 0 });
      expect(await store.counts()).to.deep.equal(before);
      const d = await store.getDocument(g2.document.id);
      expect(d).to.include({ generation: 2, title: 'Title g2', checksum: g2.document.checksum });
      expect(await store.sectionHashes(g2.document.id)).to.deep.equal([
        { id: g2.sections[0]!.id, contentHash: g2.sections[0]!.contentHash, generation: 2 },
      ]);
      expect(await store.mentionsOf(g1.sections[0]!.id)).to.deep.equal(new Map());
    });

    it('holds the fence when versions of one document race', async () => {
      const g1 = doc('race', 1, [{ path: ['Old'], commands: ['old-cmd'] }]);
      const g2 = doc('race', 2, [{ path: ['New'], commands: ['new-cmd'] }]);
      const g3 = doc('race', 3, [{ path: ['Newest'], commands: ['newest-cmd'] }]);
      const [r3] = await Promise.all([store.writeVersion(g3), store.writeVersion(g1), store.writeVersion(g2)]);
      expect(r3!.applied).to.equal(true); // whatever the order of execution, the newest stays
      expect((await store.getDocument(g3.document.id))?.generation).to.equal(3);
      await store.removeSectionsExcept(g3.document.id, g3.sections.map((s) => s.id)); // what the vector stage does
      expect((await store.sectionHashes(g3.document.id)).map((h) => h.generation)).to.deep.equal([3]);
      expect(await store.counts(g3.document.id)).to.deep.equal(expectedCounts(g3));
    });

    it('deleteDocument removes the document, its sections and edges, and leaves others and entities', async () => {
      const a = guide('a', 1);
      const b = doc('b', 1, [{ path: ['B'], commands: ['redis-cli'], refDocuments: [a.document.id], refSections: [a.sections[0]!.id] }]);
      await store.writeVersion(a);
      await store.writeVersion(b);
      expect(await store.counts(b.document.id)).to.deep.equal(expectedCounts(b, new Set([a.document.id, a.sections[0]!.id])));
      const before = await store.counts();
      const removed = await store.deleteDocument(a.document.id);
      expect(removed).to.be.greaterThan(0);
      expect(await store.getDocument(a.document.id)).to.equal(null);
      expect(await store.sectionHashes(a.document.id)).to.deep.equal([]);
      expect(await store.counts(a.document.id)).to.deep.equal(ZERO);
      expect(await store.mentionsOf(a.sections[1]!.id)).to.deep.equal(new Map());
      // b is intact but for its references into a, which went with their targets
      expect(await store.getDocument(b.document.id)).to.include({ generation: 1 });
      expect(await store.mentionsOf(b.sections[0]!.id)).to.deep.equal(mentionMap(b, b.sections[0]!.id));
      expect(await store.counts(b.document.id)).to.deep.equal(expectedCounts(b));
      const after = await store.counts();
      expect(delta(before, after)).to.deep.include({ documents: -1, sections: -a.sections.length, entities: 0 });
      expect(await store.deleteDocument(a.document.id)).to.equal(0);
    });

    it('creates REFERENCES only to targets that exist', async () => {
      const target = guide('target', 1);
      const source = doc('source', 1, [
        { path: ['S'], refDocuments: [target.document.id, documentId(tag, uri('never'))], refSections: [target.sections[2]!.id] },
        { path: ['T'], refSections: [sectionId(target.document.id, ['S'], 0)] },
      ]);
      await store.writeVersion(source);
      expect(await store.counts(source.document.id)).to.deep.equal(expectedCounts(source));
      await store.writeVersion(target);
      await store.writeVersion(source); // rewritten: now the targets exist
      const existing = new Set([target.document.id, target.sections[2]!.id]);
      expect(await store.counts(source.document.id)).to.deep.equal(expectedCounts(source, existing));
      expect(expectedCounts(source, existing).edges).to.equal(expectedCounts(source).edges + 2);
    });

    it('reads sections back by id (in the order asked, unknown ids left out) and per document in order', async () => {
      const v = doc('a', 3, [{ path: ['Intro'] }, { path: ['Intro', 'Setup'], text: 'Set it up with "quotes" and \\ back-slashes' }, { path: ['Intro', 'Run'] }]);
      await store.writeVersion(v);
      const [s0, s1, s2] = v.sections as [SectionRecord, SectionRecord, SectionRecord];
      const missing = sectionId(v.document.id, ['Nope'], 0);
      const got = await store.getSections([s2.id, missing, s1.id]);
      expect(got.map((x) => x.id)).to.deep.equal([s2.id, s1.id]);
      expect(got[1]).to.deep.equal({
        id: s1.id, documentId: v.document.id, ordinal: 1, level: 2, title: 'Setup', headingPath: ['Intro', 'Setup'],
        anchor: s1.anchor, text: s1.text, contentHash: s1.contentHash, generation: 3,
      });
      expect((await store.sectionsOf(v.document.id)).map((x) => x.id)).to.deep.equal([s0.id, s1.id, s2.id]);
      expect(await store.getSections([])).to.deep.equal([]);
      expect(await store.sectionsOf(documentId('contract', 'cli://nowhere.md'))).to.deep.equal([]);
    });

    it('expand returns parent, previous, next and mentioned entities', async () => {
      const v = doc('a', 1, [
        { path: ['Intro'] },
        { path: ['Intro', 'Setup'], commands: ['redis-cli', 'redis-cli'], parameters: ['maxmemory'] },
        { path: ['Intro', 'Run'] },
      ]);
      await store.writeVersion(v);
      const [s0, s1, s2] = v.sections.map((s) => s.id) as [string, string, string];
      const missing = sectionId(v.document.id, ['Nope'], 0);
      const out = await store.expand([s1, missing, s0, s2]);
      expect(out.map((e) => e.sectionId)).to.deep.equal([s1, s0, s2]);
      const [e1, e0, e2] = out;
      expect(e1).to.deep.include({ parent: { id: s0, title: 'Intro' }, previous: { id: s0, title: 'Intro' }, next: { id: s2, title: 'Run' } });
      expect(e1!.entities).to.have.deep.members([
        { id: globalEntityId('Command', 'redis-cli'), kind: 'Command', name: 'redis-cli' },
        { id: globalEntityId('Parameter', 'maxmemory'), kind: 'Parameter', name: 'maxmemory' },
      ]);
      expect(e0).to.deep.equal({ sectionId: s0, parent: null, previous: null, next: { id: s1, title: 'Setup' }, entities: [] });
      expect(e2).to.deep.include({ parent: { id: s0, title: 'Intro' }, previous: { id: s1, title: 'Setup' }, next: null });
      expect(await store.expand([])).to.deep.equal([]);
    });

    it('removeOrphanEntities removes only entities nothing mentions', async () => {
      const a = doc('a', 1, [{ path: ['A'], commands: ['redis-cli', `only-a-${tag}`], procedure: { name: 'Install', steps: ['one', 'two'] } }]);
      const b = doc('b', 1, [{ path: ['B'], commands: ['redis-cli'] }]);
      await store.writeVersion(a);
      await store.writeVersion(b);
      await store.removeOrphanEntities(); // whatever earlier tests left behind
      const before = await store.counts();
      expect(await store.removeOrphanEntities()).to.equal(0); // steps of a mentioned procedure are not orphans
      await store.deleteDocument(a.document.id);
      expect((await store.counts()).entities).to.equal(before.entities); // entities wait for the janitor
      // only-a, the procedure and its two steps go; redis-cli is still mentioned by b
      expect(await store.removeOrphanEntities()).to.equal(4);
      expect((await store.counts()).entities).to.equal(before.entities - 4);
      const [eb] = await store.expand([b.sections[0]!.id]);
      expect(eb!.entities.map((e) => e.name)).to.deep.equal(['redis-cli']);
      expect(await store.removeOrphanEntities()).to.equal(0);
    });

    it('markCompleted round-trips through getDocument and survives a rewrite', async () => {
      const v1 = guide('a', 1);
      await store.writeVersion(v1);
      expect(await store.getDocument(v1.document.id)).to.include({ completedGeneration: null, pipelineVersion: null });
      await store.markCompleted(v1.document.id, 1, 'pv-1');
      expect(await store.getDocument(v1.document.id)).to.include({ generation: 1, completedGeneration: 1, pipelineVersion: 'pv-1' });
      await store.writeVersion(guide('a', 2));
      expect(await store.getDocument(v1.document.id)).to.include({ generation: 2, completedGeneration: 1, pipelineVersion: 'pv-1' });
      await store.markCompleted(v1.document.id, 2, 'pv-2');
      const [listed] = (await store.listDocuments(tag)).filter((d) => d.id === v1.document.id);
      expect(listed).to.include({ completedGeneration: 2, pipelineVersion: 'pv-2' });
    });

    it('listDocuments filters by tag', async () => {
      const mine = [guide('a', 1), guide('b', 1)];
      const otherTag = `${tag}-other`;
      const theirs = buildVersion({ tag: otherTag, uri: uri('a'), generation: 1, sections: [{ path: ['X'] }] });
      for (const v of [...mine, theirs]) await store.writeVersion(v);
      expect((await store.listDocuments(tag)).map((d) => d.id)).to.have.members(mine.map((v) => v.document.id));
      expect((await store.listDocuments(otherTag)).map((d) => d.id)).to.deep.equal([theirs.document.id]);
      const all = (await store.listDocuments()).map((d) => d.id);
      expect(all).to.include.members([...mine, theirs].map((v) => v.document.id));
      expect(await store.listDocuments(`${tag}-none`)).to.deep.equal([]);
    });

    it('stores hostile names verbatim and rejects kinds off the allowlist', async () => {
      const hostile = "x'}) DETACH DELETE n //`\\\"";
      const v = doc('a', 1, [{ path: [hostile], commands: [hostile], text: hostile }], hostile);
      await store.writeVersion(v);
      expect(await store.getDocument(v.document.id)).to.include({ title: hostile });
      const [e] = await store.expand([v.sections[0]!.id]);
      expect(e!.entities).to.deep.equal([{ id: globalEntityId('Command', hostile), kind: 'Command', name: hostile }]);
      const bad = doc('bad', 1, [{ path: ['A'], commands: ['c'] }]);
      const evil = { ...bad, entities: bad.entities.map((x) => ({ ...x, kind: 'Command:Admin' as 'Command' })) };
      const error = await store.writeVersion(evil).then(() => null, (err: unknown) => err);
      expect(error).to.be.instanceOf(PermanentError);
      expect(await store.getDocument(bad.document.id)).to.equal(null);
    });

    it('many concurrent jobs neither duplicate nor lose a node or edge', async function () {
      this.timeout(120_000);
      const n = 40;
      const own = (name: string): string => `${name}@${tag}`; // names no other test shares
      // A hub in another tag, written first: it makes 'redis-cli' pre-exist and is every reference's target.
      const hub = buildVersion({ tag: `${tag}-hub`, uri: uri('hub'), generation: 1, sections: [{ path: ['Hub'], commands: ['redis-cli'] }] });
      await store.writeVersion(hub);
      await store.removeOrphanEntities();
      const versions = Array.from({ length: n }, (_, i) =>
        doc(i, 1, [
          { path: ['Overview'], commands: ['redis-cli', own(`tool-${i % 7}`)] },
          { path: ['Overview', 'Install'], commands: ['redis-cli'], procedure: { name: 'Install', steps: ['a', 'b'] } },
          { path: ['Overview', 'Config'], parameters: [own('maxmemory'), own(`param-${i}`)], refDocuments: [hub.document.id] },
          ...(i % 3 === 0 ? [{ path: ['Extra'], commands: [own(`tool-${i % 5}`)], refSections: [hub.sections[0]!.id] }] : []),
        ]),
      );
      // a few documents also get a second generation in the same burst
      const rewrites = [0, 10, 20, 30].map((i) =>
        doc(i, 2, [{ path: ['Overview'], commands: ['redis-cli'] }, { path: ['Overview', 'Only'], parameters: [own('maxmemory')] }]),
      );
      const before = await store.counts();
      const results = await Promise.all([...versions, ...rewrites].map((v) => store.writeVersion(v)));
      expect(results.slice(n).every((r) => r.applied)).to.equal(true); // g2 always wins
      const final = versions.map((v, i) => (i % 10 === 0 ? rewrites[i / 10]! : v));
      const listed = await store.listDocuments(tag);
      expect(listed.map((d) => d.id).sort()).to.deep.equal(final.map((v) => v.document.id).sort());
      for (const v of final) {
        expect((await store.getDocument(v.document.id))?.generation).to.equal(v.document.generation);
        const hashes = await store.sectionHashes(v.document.id);
        const ids = hashes.map((h) => h.id);
        expect(new Set(ids).size, 'a section id twice').to.equal(ids.length);
        expect(ids).to.include.members(v.sections.map((s) => s.id));
      }
      // the first-generation sections of rewritten documents stay until removeSectionsExcept
      for (const v of rewrites) await store.removeSectionsExcept(v.document.id, v.sections.map((s) => s.id));
      const targets = new Set([hub.document.id, hub.sections[0]!.id]);
      for (const v of final) {
        expect(await store.counts(v.document.id), v.document.sourceUri).to.deep.equal(expectedCounts(v, targets));
      }
      await store.removeOrphanEntities(); // what only the first generations of rewritten documents mentioned
      const after = await store.counts();
      const entityIds = new Set(final.flatMap((v) => v.entities.map((e) => e.id)));
      expect(delta(before, after)).to.deep.equal({
        documents: n,
        sections: final.reduce((a, v) => a + v.sections.length, 0),
        entities: entityIds.size - 1, // all but redis-cli, which the hub brought
        mentions: final.reduce((a, v) => a + v.mentions.length, 0),
        edges: final.reduce((a, v) => a + expectedCounts(v, targets).edges, 0),
      });
      const redisCli = globalEntityId('Command', 'redis-cli');
      const expanded = await store.expand(final.map((v) => v.sections[0]!.id));
      expect(expanded).to.have.length(n);
      expect(expanded.every((e) => e.entities.filter((x) => x.id === redisCli).length === 1)).to.equal(true);
    });
  });
}
