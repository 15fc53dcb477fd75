import { expect } from 'chai';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { parseMarkdown } from '../src/index.js';
import { checkTreeDepth, prescanDepth } from '../src/depth.js';
import { PermanentError } from '../src/shared.js';

const opts = { documentId: 'doc-1', sourceUri: 'file:///docs/deep.md' };

function failure(fn: () => unknown): PermanentError | null {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(PermanentError);
    return e as PermanentError;
  }
  return null;
}

/** Time one call; returns [result-or-error, ms]. */
function timed(fn: () => unknown): [PermanentError | null, number] {
  const t0 = performance.now();
  const e = failure(fn);
  return [e, performance.now() - t0];
}

describe('parse: nesting limits (TOO_DEEP)', () => {
  it('accepts 100 nested blockquotes and rejects 101', () => {
    expect(failure(() => parseMarkdown('> '.repeat(100) + 'a', opts))).to.equal(null);
    expect(failure(() => parseMarkdown('> '.repeat(101) + 'a', opts))?.code).to.equal('TOO_DEEP');
  });

  it('rejects pathological nesting in the pre-scan, before building a tree', () => {
    const cases = {
      quotes: '> '.repeat(50_000) + 'a',
      dashes: '- '.repeat(5_000) + 'a',
      ordered: '1. '.repeat(5_000) + 'a',
      indentedList: Array.from({ length: 1_200 }, (_, i) => ' '.repeat(2 * i) + '- x').join('\n'),
      quotedLists: '> - '.repeat(3_000) + 'a',
    };
    for (const [name, md] of Object.entries(cases)) {
      const [e, ms] = timed(() => prescanDepth(md, 100));
      expect(e?.code, name).to.equal('TOO_DEEP');
      expect(ms, name).to.be.below(500);
      expect(failure(() => parseMarkdown(md, opts))?.code, name).to.equal('TOO_DEEP');
    }
  });

  it('honours maxDepth', () => {
    const six = Array.from({ length: 6 }, (_, i) => ' '.repeat(2 * i) + '- level').join('\n');
    expect(failure(() => parseMarkdown(six, { ...opts, maxDepth: 6 }))).to.equal(null);
    expect(failure(() => parseMarkdown(six, { ...opts, maxDepth: 5 }))?.code).to.equal('TOO_DEEP');
  });

  it('does not count thematic breaks or fenced code as nesting', () => {
    const md = `${'* '.repeat(300)}\n\n\`\`\`\n${'> '.repeat(500)}\n\`\`\`\n`;
    expect(failure(() => parseMarkdown(md, opts))).to.equal(null);
  });

  it('checks the built tree too (nesting the pre-scan cannot see, e.g. emphasis runs)', () => {
    const md = '*'.repeat(150) + 'a' + '*'.repeat(150);
    expect(failure(() => parseMarkdown(md, { ...opts, maxDepth: 20 }))?.code).to.equal('TOO_DEEP');
    expect(failure(() => parseMarkdown(md, { ...opts, maxDepth: 100 }))).to.equal(null);
    const nested = fromMarkdown('> > > a');
    expect(failure(() => checkTreeDepth(nested, 2))?.code).to.equal('TOO_DEEP');
    expect(failure(() => checkTreeDepth(nested, 3))).to.equal(null);
  });

  it('keeps inline pathologies linear: such lines are kept verbatim as code', () => {
    const cases = [
      '*'.repeat(50_000) + 'a' + '*'.repeat(50_000),
      '*a_ '.repeat(50_000),
      '['.repeat(50_000) + 'a' + ']'.repeat(50_000),
      '[a](<b'.repeat(50_000),
      Array.from({ length: 1_000 }, (_, i) => '`'.repeat(i + 1) + 'a').join(' '),
    ];
    for (const md of cases) {
      const t0 = performance.now();
      const doc = parseMarkdown(`# P\n\nbefore\n${md}\nafter\n`, { ...opts, maxSectionTokens: Infinity });
      expect(performance.now() - t0).to.be.below(3000);
      expect(doc.sections[0]!.text).to.include(md);
    }
  });
});
