// Mocha reporter: the spec output on the console, plus reports/tests/junit.xml and summary.json, and the
// plain closing line "N passed, N failed, N skipped". Pending tests are listed with their reason.
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');
const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_RUN_END } = Mocha.Runner.constants;

const esc = (s) => String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);

class Reporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const results = [];
    const started = Date.now();
    runner.on(EVENT_TEST_PASS, (t) => results.push({ t, state: 'passed' }));
    runner.on(EVENT_TEST_FAIL, (t, err) => results.push({ t, state: 'failed', err }));
    runner.on(EVENT_TEST_PENDING, (t) => results.push({ t, state: 'pending' }));
    runner.once(EVENT_RUN_END, () => {
      const dir = path.resolve('reports/tests');
      fs.mkdirSync(dir, { recursive: true });
      const count = (s) => results.filter((r) => r.state === s).length;
      const cases = results.map(({ t, state, err }) => {
        const name = esc(t.title);
        const cls = esc(t.parent ? t.parent.fullTitle() : '');
        const time = ((t.duration || 0) / 1000).toFixed(3);
        if (state === 'failed') return `<testcase classname="${cls}" name="${name}" time="${time}"><failure message="${esc(err && err.message)}">${esc(err && err.stack)}</failure></testcase>`;
        if (state === 'pending') return `<testcase classname="${cls}" name="${name}" time="0"><skipped message="${esc(t.pendingReason || 'pending')}"/></testcase>`;
        return `<testcase classname="${cls}" name="${name}" time="${time}"/>`;
      });
      const seconds = (Date.now() - started) / 1000;
      fs.writeFileSync(path.join(dir, 'junit.xml'), `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${results.length}" failures="${count('failed')}" skipped="${count('pending')}" time="${seconds}">\n<testsuite name="graphrag-ingest" tests="${results.length}" failures="${count('failed')}" skipped="${count('pending')}" time="${seconds}">\n${cases.join('\n')}\n</testsuite>\n</testsuites>\n`);
      const summary = {
        passed: count('passed'), failed: count('failed'), pending: count('pending'), seconds,
        failures: results.filter((r) => r.state === 'failed').map((r) => ({ test: r.t.fullTitle(), message: r.err && r.err.message })),
        pending_tests: results.filter((r) => r.state === 'pending').map((r) => ({ test: r.t.fullTitle(), reason: r.t.pendingReason || '' })),
      };
      fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
      for (const p of summary.pending_tests) console.log(`  pending: ${p.test}${p.reason ? ` — ${p.reason}` : ''}`);
      console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.pending} skipped`);
    });
  }
}
module.exports = Reporter;
