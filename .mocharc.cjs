// Unit, contract, integration and e2e suites in one mocha run; tsx compiles TypeScript on the fly.
module.exports = {
  'node-option': ['import=tsx'],
  spec: ['shared/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
  timeout: 60000,
  exit: true,
};
