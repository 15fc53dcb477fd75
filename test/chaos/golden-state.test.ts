import { expect } from 'chai';
import { compareStates, duplicatesOf, type TagState } from './golden-state.js';

const state = (): TagState => ({
  tag: 't',
  documents: [{ id: 'd1', source_uri: 'cli://t/a.md', checksum: 'c1', title: 'A', completed: true }],
  sections: [{ id: 's1', document_id: 'd1', content_hash: 'h1' }, { id: 's2', document_id: 'd1', content_hash: 'h2' }],
  points: [
    { id: 's1', document_id: 'd1', content_hash: 'h1', embedding_version: 'hash-384' },
    { id: 's2', document_id: 'd1', content_hash: 'h2', embedding_version: 'hash-384' },
  ],
  relationships: [{ document_id: 'd1', mentions: 2, edges: 3, entities: 1 }],
});

describe('chaos golden-state comparator', () => {
  it('finds no difference between equal states', () => {
    expect(compareStates(state(), state())).to.deep.equal([]);
  });

  it('fails on one missing point and one extra section', () => {
    const actual = state();
    actual.points.pop();
    actual.sections.push({ id: 's3', document_id: 'd1', content_hash: 'h3' });
    const diff = compareStates(state(), actual);
    expect(diff).to.include('point missing: d1/s2 h2 hash-384');
    expect(diff).to.include('section extra: d1/s3 h3');
    expect(diff).to.include('section count 3 ≠ golden 2');
    expect(diff).to.include('point count 1 ≠ golden 2');
  });

  it('fails on a changed content hash, a changed relationship count and an incomplete document', () => {
    const actual = state();
    actual.sections[0] = { ...actual.sections[0]!, content_hash: 'other' };
    actual.relationships[0] = { ...actual.relationships[0]!, edges: 2 };
    actual.documents[0] = { ...actual.documents[0]!, completed: false };
    const diff = compareStates(state(), actual);
    expect(diff.some((d) => d.startsWith('section missing: d1/s1 h1'))).to.equal(true);
    expect(diff.some((d) => d.startsWith('relationships'))).to.equal(true);
    expect(diff.some((d) => d.startsWith('document missing'))).to.equal(true);
  });

  it('fails on a duplicate point even when the sets are equal', () => {
    const actual = state();
    actual.points.push({ ...actual.points[0]! });
    expect(duplicatesOf(actual).points).to.deep.equal(['s1']);
    expect(compareStates(state(), actual)).to.include('duplicate point: s1');
  });
});
