import { defineProject } from 'vitest/config'

/**
 * The one vitest project config every package uses: workspace packages resolve to their `src` through the
 * `@novum/source` export condition, so tests never need a build.
 */
export function novumProject(name: string, options: { include?: string[]; testTimeout?: number; hookTimeout?: number } = {}) {
  return defineProject({
    ssr: { resolve: { conditions: ['@novum/source', 'module', 'node', 'development|production'] } },
    resolve: { conditions: ['@novum/source', 'module', 'node', 'development|production'] },
    test: {
      name,
      include: options.include ?? ['src/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 20_000,
      hookTimeout: options.hookTimeout ?? 60_000,
      environment: 'node',
    },
  })
}
