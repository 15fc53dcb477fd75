import { expect } from 'chai';
import { stageNodeFlags } from '../src/stage-children.js';

describe('compute child processes: V8 heap flags', () => {
  it('parse and extract start with 4 MB semi-spaces, embed with 8 MB, parse and embed with a heap growing step, unless INGEST_STAGE_NODE_FLAGS says otherwise', () => {
    expect(stageNodeFlags('parse', {})).to.deep.equal(['--max-semi-space-size=4', '--heap-growing-percent=25']);
    expect(stageNodeFlags('extract', {})).to.deep.equal(['--max-semi-space-size=4']);
    expect(stageNodeFlags('embed', {})).to.deep.equal(['--max-semi-space-size=8', '--heap-growing-percent=50']);
    expect(stageNodeFlags('embed', { INGEST_STAGE_NODE_FLAGS: ' --max-semi-space-size=8  --optimize-for-size ' })).to.deep.equal(['--max-semi-space-size=8', '--optimize-for-size']);
    expect(stageNodeFlags('parse', { INGEST_STAGE_NODE_FLAGS: '' })).to.deep.equal([]);
  });
});
