/**
 * `@novum/di-tsyringe`: the community container adapter. It registers Novum's decorator-free provider lists in a
 * tsyringe container. tsyringe is in maintenance mode upstream (no release since 4.10.0), so this adapter stays as
 * thin as possible; `@novum/di-inversify` is the default adapter, and `resolveProviders` from `@novum/core` needs
 * no container at all.
 *
 * @packageDocumentation
 */
// NOTE: tsyringe throws at import time unless a Reflect polyfill is loaded first, even for useFactory-only use.
// ESM evaluates imports in order, so this line must stay above the tsyringe import.
import 'reflect-metadata'
import { container as rootContainer, instanceCachingFactory } from 'tsyringe'
import type { DependencyContainer } from 'tsyringe'
import type { Provider, Resolver, Token } from '@novum/core'

const describeToken = (t: symbol): string => t.description ?? t.toString()

/**
 * Registers every provider in `container` as a tsyringe `useFactory` wrapped in `instanceCachingFactory`: each
 * token is built once (singleton), on first use, with the provider's `deps` resolved in order from the container
 * that resolves it.
 *
 * A later provider for the same token replaces an earlier one (tsyringe resolves the last registration). A
 * dependency cycle throws `circular dependency at <token>` instead of overflowing the stack. A factory that
 * returns `undefined` or `null` is still called only once.
 *
 * @returns `container`, for chaining.
 *
 * @example
 * ```ts
 * import { container } from 'tsyringe'
 * import { provide, provideValue, token } from '@novum/core'
 * import { registerProviders } from '@novum/di-tsyringe'
 *
 * const GREETING = token<string>('example/Greeting')
 * const NAME = token<string>('example/Name')
 * const child = registerProviders(container.createChildContainer(), [
 *   provideValue(NAME, 'nova'),
 *   provide(GREETING, [NAME] as const, (name) => `hello ${name}`),
 * ])
 * child.resolve(GREETING) // 'hello nova'
 * ```
 */
export function registerProviders(container: DependencyContainer, providers: readonly Provider[]): DependencyContainer {
  for (const p of providers) {
    // NOTE: Provider.useFactory is typed `(...deps: never[]) => T` so that any typed factory fits it; the deps
    // list is what guarantees the argument types, which tsyringe cannot see.
    const factory = p.useFactory as (...deps: unknown[]) => unknown
    let building = false
    // instanceCachingFactory re-runs the factory while its cached value is `== undefined`; a box caches any value.
    const cached = instanceCachingFactory((c) => {
      if (building) throw new Error(`circular dependency at ${describeToken(p.provide)}`)
      building = true
      try {
        return { value: factory(...p.deps.map((d) => c.resolve(d))) }
      } finally {
        building = false
      }
    })
    container.register(p.provide, { useFactory: (c) => cached(c).value })
  }
  return container
}

/** Core's `Resolver` backed by a tsyringe container; `container` is exposed for further registrations. */
export interface TsyringeResolver extends Resolver {
  /** The child container the providers were registered in. */
  readonly container: DependencyContainer
}

/**
 * Registers `providers` in a fresh child of tsyringe's global container (the global one is left untouched) and
 * returns core's `Resolver` over it: a drop-in replacement for `resolveProviders(providers)` with the same
 * singleton, ordering and override semantics.
 *
 * @example
 * ```ts
 * const resolver = createTsyringeResolver([provideValue(NAME, 'nova')])
 * resolver.get(NAME) // 'nova'
 * ```
 */
export function createTsyringeResolver(providers: readonly Provider[]): TsyringeResolver {
  const container = registerProviders(rootContainer.createChildContainer(), providers)
  return {
    container,
    get: <T>(t: Token<T>): T => container.resolve<T>(t),
  }
}
