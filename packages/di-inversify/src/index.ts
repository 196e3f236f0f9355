/**
 * `@novum/di-inversify`: the default container adapter. It turns Novum's decorator-free provider lists into an
 * inversify 8 `ContainerModule`, so an application that already uses inversify can load Novum's services into its
 * own container. Novum itself never needs a container: `resolveProviders` from `@novum/core` does the same job.
 *
 * @packageDocumentation
 */
import { Container, ContainerModule } from 'inversify'
import type { Provider, Resolver, Token } from '@novum/core'

/**
 * Keeps the last provider for each token, as core's `resolveProviders` does, so a deployment can list defaults
 * first and its overrides after them. (Inversify itself would keep both bindings and then refuse to pick one.)
 */
function lastProviderPerToken(providers: readonly Provider[]): Provider[] {
  const byToken = new Map<symbol, Provider>()
  for (const p of providers) byToken.set(p.provide, p)
  return [...byToken.values()]
}

/**
 * Builds an inversify `ContainerModule` that binds every provider's token to its factory, with the provider's
 * `deps` injected in order, in singleton scope (each token is built once per container, on first use).
 *
 * A later provider for the same token replaces an earlier one within the list. Loading two modules that bind the
 * same token into one container is inversify's business (it reports an ambiguous match); use one list, or
 * `container.rebind`, to override across modules.
 *
 * @example
 * ```ts
 * import { Container } from 'inversify'
 * import { provide, provideValue, token } from '@novum/core'
 * import { toContainerModule } from '@novum/di-inversify'
 *
 * const GREETING = token<string>('example/Greeting')
 * const NAME = token<string>('example/Name')
 * const container = new Container()
 * container.load(toContainerModule([
 *   provideValue(NAME, 'nova'),
 *   provide(GREETING, [NAME] as const, (name) => `hello ${name}`),
 * ]))
 * container.get(GREETING) // 'hello nova'
 * ```
 */
export function toContainerModule(providers: readonly Provider[]): ContainerModule {
  const effective = lastProviderPerToken(providers)
  return new ContainerModule(({ bind }) => {
    for (const p of effective) {
      // NOTE: Provider.useFactory is typed `(...deps: never[]) => T` so that any typed factory fits it; the
      // deps list is what guarantees the argument types, which inversify cannot see.
      const factory = p.useFactory as (...deps: unknown[]) => unknown
      bind<unknown>(p.provide).toResolvedValue(factory, [...p.deps]).inSingletonScope()
    }
  })
}

/** Core's `Resolver` backed by an inversify container; `container` is exposed for further bindings. */
export interface InversifyResolver extends Resolver {
  /** The container the providers were loaded into. */
  readonly container: Container
}

/**
 * Loads `providers` into a fresh inversify `Container` and returns core's `Resolver` over it: a drop-in
 * replacement for `resolveProviders(providers)` with the same singleton, ordering and override semantics.
 *
 * @example
 * ```ts
 * const resolver = createInversifyResolver([provideValue(NAME, 'nova')])
 * resolver.get(NAME) // 'nova'
 * ```
 */
export function createInversifyResolver(providers: readonly Provider[]): InversifyResolver {
  const container = new Container()
  container.load(toContainerModule(providers))
  return {
    container,
    get: <T>(t: Token<T>): T => container.get<T>(t),
  }
}
