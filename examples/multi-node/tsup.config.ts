import { defineConfig } from 'tsup'

// One bundled file, as the reference server: the workspace packages are compiled in (from source, through the
// `@novum/source` condition); database drivers, amqplib and the optional driver packages stay external. The
// supervisor starts every child from this same file, so a child costs no transpiling.
export default defineConfig({
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  splitting: false,
  noExternal: [/^@novum\/(core|api-http|transport-amqp)(\/.*)?$/, 'commander', 'fastify', 'pino', 'kysely', 'rxjs', 'ajv', 'ajv-formats'],
  external: ['better-sqlite3', 'pg', 'mysql2', 'amqplib', 'pino-pretty', '@novum/driver-libvirt', '@novum/driver-lxc'],
  esbuildOptions(options) {
    options.conditions = ['@novum/source', 'module', 'node']
    options.banner = { js: "#!/usr/bin/env node\nimport { createRequire as __novumCreateRequire } from 'node:module'; const require = __novumCreateRequire(import.meta.url);" }
  },
})
