// ESLint flat config for the whole workspace (`pnpm lint`).
// - every file: @eslint/js recommended + typescript-eslint recommended (syntax-only, fast);
// - library sources (packages/*/src): type-aware `no-floating-promises` too, through the TypeScript project service,
//   because a dropped promise in a service loop loses errors silently.
import js from '@eslint/js'
import { defineConfig, globalIgnores } from 'eslint/config'
import tseslint from 'typescript-eslint'

/** The globals of the Node.js running ESLint, for plain .js/.mjs scripts (no `globals` package needed). */
const nodeGlobals = Object.fromEntries(Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly']))

export default defineConfig(
  globalIgnores([
    '**/dist/',
    '**/node_modules/',
    '**/build-tsc/',
    '**/coverage/',
    '.vitest-reports/',
    '**/.novum/',
    '**/*.tsbuildinfo',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: nodeGlobals },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // `_`-prefixed names mark parameters kept for a contract's shape (e.g. a fake driver's unused args).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Kysely's guidance: migrations and schema-agnostic helpers take `Kysely<any>`, since they must not depend on
    // the current schema type.
    files: ['packages/*/src/db/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
)
