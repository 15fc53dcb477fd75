// `npm test`: lint, type check, then every mocha suite (unit, contract, integration, e2e) in one run,
// writing reports/tests/junit.xml and summary.json (DESIGN §13). Exits non-zero if any step fails.
import { spawnSync } from 'node:child_process';

const steps = [
  ['lint', ['npx', 'eslint', '.']],
  ['typecheck', ['npx', 'tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['mocha', ['npx', 'mocha', '--config', '.mocharc.cjs', '--reporter', './test/helpers/reporter.cjs', ...process.argv.slice(2)]],
];
let failed = false;
for (const [name, [cmd, ...args]] of steps) {
  process.stderr.write(`\n== ${name}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`== ${name} failed (exit ${r.status ?? r.signal})\n`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
