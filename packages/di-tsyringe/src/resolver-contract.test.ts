/**
 * The resolver contract: one table of cases run through core's `resolveProviders` (no container), the default
 * inversify adapter and this tsyringe adapter. Every case expects the same observation from all three, so the
 * adapters are proven to give the same results as core. It lives here, beside the community adapter, because the
 * default adapter must not depend on tsyringe, even for tests.
 */
import { describe, expect, it } from 'vitest'
import { provide, provideValue, resolveProviders, token } from '@novum/core'
import type { Provider, Resolver } from '@novum/core'
import { createInversifyResolver } from '@novum/di-inversify'
import { createTsyringeResolver } from './index.js'

interface Node {
  readonly name: string
  readonly deps: readonly Node[]
}

const A = token<Node>('di-contract/A')
const B = token<Node>('di-contract/B')
const C = token<Node>('di-contract/C')
const D = token<Node>('di-contract/D')
const LABEL = token<string>('di-contract/Label')
const NOTHING = token<undefined>('di-contract/Nothing')
const NULLISH = token<null>('di-contract/Null')
const MISSING = token<Node>('di-contract/Missing')

/** Records which factories ran, in order, so cases can observe build order and build counts. */
class BuildLog {
  readonly entries: string[] = []
  node(name: string, ...deps: Node[]): Node {
    this.entries.push(name)
    return { name, deps }
  }
  count(name: string): number {
    return this.entries.filter((e) => e === name).length
  }
}

/** What a case observes, as plain data, so results from different resolvers compare with `toEqual`. */
const errorOf = (f: () => unknown): string | undefined => {
  try {
    f()
    return undefined
  } catch (e) {
    return e instanceof Error ? 'Error' : typeof e
  }
}

interface ContractCase {
  readonly name: string
  /** Builds fresh providers (with a fresh log) for one run. */
  readonly providers: (log: BuildLog) => readonly Provider[]
  /** Uses the resolver and returns what was observed, as plain data. */
  readonly observe: (resolver: Resolver, log: BuildLog) => unknown
  readonly expected: unknown
}

const contractCases: readonly ContractCase[] = [
  {
    name: 'singleton: a token is built once and the same object is returned every time',
    providers: (log) => [provide(A, [], () => log.node('a'))],
    observe: (r, log) => ({ same: r.get(A) === r.get(A), builds: log.count('a') }),
    expected: { same: true, builds: 1 },
  },
  {
    name: 'singleton: a dependency shared by two tokens is built once and shared',
    providers: (log) => [
      provide(C, [], () => log.node('c')),
      provide(A, [C] as const, (c) => log.node('a', c)),
      provide(B, [C] as const, (c) => log.node('b', c)),
    ],
    observe: (r, log) => ({ shared: r.get(A).deps[0] === r.get(B).deps[0], builds: log.count('c') }),
    expected: { shared: true, builds: 1 },
  },
  {
    name: 'lazy: nothing is built before the first get, and only what that get needs',
    providers: (log) => [provide(A, [], () => log.node('a')), provide(B, [], () => log.node('b'))],
    observe: (r, log) => {
      const before = [...log.entries]
      r.get(A)
      return { before, after: [...log.entries] }
    },
    expected: { before: [], after: ['a'] },
  },
  {
    name: 'dependency order: dependencies are built before their dependents, whatever the list order',
    providers: (log) => [
      provide(A, [B, C] as const, (b, c) => log.node('a', b, c)),
      provide(B, [C] as const, (c) => log.node('b', c)),
      provide(C, [], () => log.node('c')),
    ],
    observe: (r, log) => {
      r.get(A)
      return log.entries
    },
    expected: ['c', 'b', 'a'],
  },
  {
    name: 'dependency order: the factory receives its deps in the order they are listed',
    providers: (log) => [
      provide(B, [], () => log.node('b')),
      provide(C, [], () => log.node('c')),
      provide(A, [C, B, C] as const, (c1, b, c2) => log.node('a', c1, b, c2)),
    ],
    observe: (r) => r.get(A).deps.map((d) => d.name),
    expected: ['c', 'b', 'c'],
  },
  {
    name: 'dependency order: a diamond builds each node once, leaves first',
    providers: (log) => [
      provide(D, [], () => log.node('d')),
      provide(B, [D] as const, (d) => log.node('b', d)),
      provide(C, [D] as const, (d) => log.node('c', d)),
      provide(A, [B, C] as const, (b, c) => log.node('a', b, c)),
    ],
    observe: (r, log) => {
      const a = r.get(A)
      return { order: log.entries, sameD: a.deps[0]?.deps[0] === a.deps[1]?.deps[0] }
    },
    expected: { order: ['d', 'b', 'c', 'a'], sameD: true },
  },
  {
    name: 'override: a later provider for the same token replaces the earlier one, which never runs',
    providers: (log) => [provide(A, [], () => log.node('default')), provide(A, [], () => log.node('override'))],
    observe: (r, log) => ({ name: r.get(A).name, built: log.entries }),
    expected: { name: 'override', built: ['override'] },
  },
  {
    name: 'override: dependents see the overriding provider even when it comes after them',
    providers: (log) => [
      provideValue(LABEL, 'default'),
      provide(A, [LABEL] as const, (label) => log.node(`a(${label})`)),
      provideValue(LABEL, 'override'),
    ],
    observe: (r) => r.get(A).name,
    expected: 'a(override)',
  },
  {
    name: 'override: the last of three providers wins',
    providers: () => [provideValue(LABEL, 'one'), provideValue(LABEL, 'two'), provideValue(LABEL, 'three')],
    observe: (r) => r.get(LABEL),
    expected: 'three',
  },
  {
    name: 'values: provideValue returns the very value given',
    providers: () => [provideValue(LABEL, 'nova')],
    observe: (r) => r.get(LABEL),
    expected: 'nova',
  },
  {
    name: 'values: a factory returning undefined or null is still built once',
    providers: (log) => [
      provide(NOTHING, [], () => {
        log.entries.push('nothing')
        return undefined
      }),
      provide(NULLISH, [], () => {
        log.entries.push('null')
        return null
      }),
    ],
    observe: (r, log) => {
      const values = [r.get(NOTHING), r.get(NOTHING), r.get(NULLISH), r.get(NULLISH)]
      return { values, builds: log.entries }
    },
    expected: { values: [undefined, undefined, null, null], builds: ['nothing', 'null'] },
  },
  {
    name: 'errors: a token without a provider throws an Error',
    providers: (log) => [provide(A, [], () => log.node('a'))],
    observe: (r) => errorOf(() => r.get(MISSING)),
    expected: 'Error',
  },
  {
    name: 'errors: a missing dependency throws an Error and builds nothing',
    providers: (log) => [provide(A, [MISSING] as const, (m) => log.node('a', m))],
    observe: (r, log) => ({ error: errorOf(() => r.get(A)), built: log.entries }),
    expected: { error: 'Error', built: [] },
  },
  {
    name: 'errors: a dependency cycle throws an Error instead of overflowing the stack',
    providers: (log) => [
      provide(A, [B] as const, (b) => log.node('a', b)),
      provide(B, [A] as const, (a) => log.node('b', a)),
    ],
    observe: (r, log) => ({ error: errorOf(() => r.get(A)), built: log.entries }),
    expected: { error: 'Error', built: [] },
  },
  {
    name: 'errors: a token that depends on itself throws an Error',
    providers: (log) => [provide(A, [A] as const, (a) => log.node('a', a))],
    observe: (r) => errorOf(() => r.get(A)),
    expected: 'Error',
  },
]

const resolvers: readonly { readonly name: string; readonly create: (providers: readonly Provider[]) => Resolver }[] = [
  { name: 'resolveProviders (core, no container)', create: resolveProviders },
  { name: 'createInversifyResolver', create: createInversifyResolver },
  { name: 'createTsyringeResolver', create: createTsyringeResolver },
]

const run = (c: ContractCase, create: (providers: readonly Provider[]) => Resolver): unknown => {
  const log = new BuildLog()
  return c.observe(create(c.providers(log)), log)
}

describe('resolver contract', () => {
  describe.each(resolvers)('$name', ({ create }) => {
    for (const c of contractCases) {
      it(c.name, () => {
        expect(run(c, create)).toEqual(c.expected)
      })
    }

    it('keeps two resolvers over the same providers independent', () => {
      const log = new BuildLog()
      const providers = [provide(A, [], () => log.node('a'))]
      const first = create(providers)
      const second = create(providers)
      expect(first.get(A)).not.toBe(second.get(A))
      expect(log.count('a')).toBe(2)
    })
  })

  describe('every resolver observes what resolveProviders observes', () => {
    for (const c of contractCases) {
      it(c.name, () => {
        const fromCore = run(c, resolveProviders)
        expect(resolvers.map((r) => run(c, r.create))).toEqual(resolvers.map(() => fromCore))
      })
    }
  })
})
