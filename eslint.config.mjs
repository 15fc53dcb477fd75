import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'data/**', 'reports/**', '**/*.cjs', 'ingest/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      // Control characters in regexes are deliberate here: NUL repair, terminal escaping.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: ['@ingest/shared/src/*', '@ingest/*/src/*'] }],
    },
  },
  {
    // Imports run cli → services → shared: shared never imports a service.
    files: ['shared/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@ingest/parse', '@ingest/extract', '@ingest/embed', '@ingest/graph', '@ingest/vector', '@ingest/verify', '@ingest/watcher', '@ingest/dashboard', '@ingest/cli'] }] },
  },
);
