import { defineConfig } from 'tsup'

// The reference server ships as one bundled file: the workspace packages are compiled in (from source, through the
// `@novum/source` condition), native and optional drivers stay external. Starting it costs no transpiling.
export default defineConfig({
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  splitting: false,
  noExternal: [/^@novum\//, 'commander', 'fastify', 'pino', 'kysely', 'rxjs', 'ajv', 'ajv-formats', 'inversify', 'tsyringe', 'reflect-metadata'],
  external: ['better-sqlite3', 'pg', 'mysql2', 'pino-pretty'],
  esbuildOptions(options) {
    options.conditions = ['@novum/source', 'module', 'node']
    // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
    options.banner = { js: "import { createRequire as __novumCreateRequire } from 'node:module'; const require = __novumCreateRequire(import.meta.url);" }
  },
})
