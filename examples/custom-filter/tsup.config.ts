import { defineConfig } from 'tsup'

// The plugin ships as plain ESM; @novum/core stays external (a peer), so a deployment has one copy of it.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  dts: true,
  sourcemap: true,
  external: [/^@novum\//],
})
