import { expect } from 'chai';
import { propertyHash } from '../../services/dashboard/src/state-routes.js';
import { compareStates, duplicateEdges, duplicatesOf, NO_DUPLICATES, type TagState } from './golden-state.js';

const state = (): TagState => ({
  tag: 't',
  documents: [{ id: 'd1', source_uri: 'cli://t/a.md', checksum: 'c1', title: 'A', completed: true }],
  sections: [{ id: 's1', document_id: 'd1', content_hash: 'h1', hash: 'p1' }, { id: 's2', document_id: 'd1', content_hash: 'h2', hash: 'p2' }],
  entities: [{ id: 'e1', kind: 'Command', name: 'git status', hash: 'q1' }],
  relationships: [
    { document_id: 'd1', type: 'FROM_DOCUMENT', from: 's1', to: 'd1', hash: 'r0' },
    { document_id: 'd1', type: 'FROM_DOCUMENT', from: 's2', to: 'd1', hash: 'r0' },
    { document_id: 'd1', type: 'NEXT_CHUNK', from: 's1', to: 's2', hash: 'r0' },
    { document_id: 'd1', type: 'MENTIONS', from: 's2', to: 'e1', hash: 'r2' },
  ],
  points: [
    { id: 's1', document_id: 'd1', content_hash: 'h1', embedding_version: 'hash-384', hash: 'v1' },
    { id: 's2', document_id: 'd1', content_hash: 'h2', embedding_version: 'hash-384', hash: 'v2' },
  ],
});

describe('chaos golden-state comparator', () => {
  it('finds no difference between equal states', () => {
    expect(compareStates(state(), state())).to.deep.equal([]);
    expect(duplicatesOf(state())).to.deep.equal(NO_DUPLICATES);
    expect(duplicateEdges(state())).to.deep.equal([]);
  });

  it('fails when one point is missing', () => {
    const actual = state();
    actual.points.pop();
    expect(compareStates(state(), actual)).to.deep.equal(['point missing: d1/s2 h2 hash-384 #v2', 'point count 1 ≠ golden 2']);
  });

  it('fails when one edge is missing', () => {
    const actual = state();
    actual.relationships.splice(2, 1);
    expect(compareStates(state(), actual)).to.deep.equal(['relationship missing: d1: NEXT_CHUNK s1 → s2 #r0', 'relationship count 3 ≠ golden 4']);
  });

  it('fails when one property changed: of a section, of an edge, of a point, of an entity', () => {
    const cases: [string, (s: TagState) => void, string][] = [
      ['section text', (s) => { s.sections[0] = { ...s.sections[0]!, hash: 'p1-changed' }; }, 'section missing: d1/s1 h1 #p1'],
      ['MENTIONS count', (s) => { s.relationships[3] = { ...s.relationships[3]!, hash: 'r2-changed' }; }, 'relationship missing: d1: MENTIONS s2 → e1 #r2'],
      ['point vector', (s) => { s.points[1] = { ...s.points[1]!, hash: 'v2-changed' }; }, 'point missing: d1/s2 h2 hash-384 #v2'],
      ['entity name', (s) => { s.entities[0] = { ...s.entities[0]!, name: 'git stash' }; }, 'entity missing: Command e1 "git status" #q1'],
    ];
    for (const [what, plant, expected] of cases) {
      const actual = state();
      plant(actual);
      const diff = compareStates(state(), actual);
      expect(diff, what).to.include(expected);
      expect(diff.filter((d) => d.includes(' extra: ')), what).to.have.length(1);
    }
  });

  it('fails on an extra section and an incomplete document', () => {
    const actual = state();
    actual.sections.push({ id: 's3', document_id: 'd1', content_hash: 'h3', hash: 'p3' });
    actual.documents[0] = { ...actual.documents[0]!, completed: false };
    const diff = compareStates(state(), actual);
    expect(diff).to.include('section extra: d1/s3 h3 #p3');
    expect(diff).to.include('section count 3 ≠ golden 2');
    expect(diff.some((d) => d.startsWith('document missing'))).to.equal(true);
  });

  it('fails on a duplicate point or a doubled edge even when the sets are equal', () => {
    const actual = state();
    actual.points.push({ ...actual.points[0]! });
    actual.relationships.push({ ...actual.relationships[2]! });
    expect(duplicatesOf(actual)).to.deep.equal({ ...NO_DUPLICATES, points: ['s1'] });
    expect(duplicateEdges(actual)).to.deep.equal(['d1: NEXT_CHUNK s1 → s2']);
    const diff = compareStates(state(), actual);
    expect(diff).to.include('duplicate point: s1');
    expect(diff).to.include('duplicate relationship: d1: NEXT_CHUNK s1 → s2');
  });

  it('property hashes: equal for equal values whatever the key order, different when any property differs', () => {
    const section = { id: 's1', title: 'T', headingPath: ['A', 'T'], text: 'x', level: 2, ordinal: 1, tokenCount: 3, contentHash: 'h', generation: 1 };
    expect(propertyHash({ ...section })).to.equal(propertyHash(Object.fromEntries(Object.entries(section).reverse())));
    for (const [k, v] of Object.entries({ title: 'U', headingPath: ['A', 'U'], text: 'y', level: 3, ordinal: 2, tokenCount: 4, contentHash: 'g', generation: 2 })) {
      expect(propertyHash({ ...section, [k]: v }), k).to.not.equal(propertyHash(section));
    }
    expect(propertyHash({ vector: [0.1, 0.2] })).to.not.equal(propertyHash({ vector: [0.1, 0.20000001] }));
  });
});
