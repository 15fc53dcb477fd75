// Unit, contract, integration and e2e suites in one mocha run; tsx compiles TypeScript on the fly.
// Test files load as ES modules, as the services do: with require(esm) on (Node ≥ 22.12) mocha would
// require() them and tsx would compile them to CommonJS, so a module the code loads with import() (the
// store adapters, shared/src/runtime/stores.ts) would be a second instance with its own error classes.
module.exports = {
  'node-option': ['import=tsx', 'no-experimental-require-module'],
  spec: ['shared/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
  timeout: 60000,
  exit: true,
};
