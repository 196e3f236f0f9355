/** A DI token: a `Symbol.for` key that carries the type it resolves to. Inversify and tsyringe both accept symbols. */
export type Token<T> = symbol & { readonly __type?: T }

/** Makes the token `@novum/core/<name>`; two copies of the package still agree on it. */
export const token = <T>(name: string): Token<T> => Symbol.for(`@novum/core/${name}`) as Token<T>

/** The type a token resolves to. */
export type TokenType<K> = K extends Token<infer T> ? T : never

type TokenTypes<D extends readonly Token<unknown>[]> = { [I in keyof D]: TokenType<D[I]> }

/**
 * A provider: how to build the value of one token from the values of others. Plain data, no decorators, so any
 * container (or none) can wire it. Factories are synchronous and have no side effects; async work belongs in
 * the built object's `init()`/`close()`.
 */
export interface Provider<T = unknown> {
  readonly provide: Token<T>
  readonly deps: readonly Token<unknown>[]
  readonly useFactory: (...deps: never[]) => T
}

/**
 * Declares a provider with the factory's parameters typed from `deps`.
 *
 * @example
 * ```ts
 * const p = provide(SCHEDULER, [PLACEMENT, CLOCK] as const, (placement, clock) => new Scheduler(placement, clock))
 * ```
 */
export function provide<T, const D extends readonly Token<unknown>[]>(
  provideToken: Token<T>,
  deps: D,
  useFactory: (...deps: TokenTypes<D>) => T,
): Provider<T> {
  return { provide: provideToken, deps, useFactory: useFactory as unknown as (...deps: never[]) => T }
}

/** A provider of a fixed value. */
export function provideValue<T>(provideToken: Token<T>, value: T): Provider<T> {
  return { provide: provideToken, deps: [], useFactory: () => value }
}

/** The smallest resolver interface: what {@link resolveProviders} and the container adapters offer. */
export interface Resolver {
  get<T>(t: Token<T>): T
}

/**
 * Resolves providers without a container: each token is built once (singleton), on first use, in dependency order.
 * A later provider for the same token replaces an earlier one, so a deployment can override defaults.
 */
export function resolveProviders(providers: readonly Provider[]): Resolver {
  const byToken = new Map<symbol, Provider>()
  for (const p of providers) byToken.set(p.provide, p)
  const built = new Map<symbol, unknown>()
  const building = new Set<symbol>()
  const get = <T>(t: Token<T>): T => {
    if (built.has(t)) return built.get(t) as T
    const p = byToken.get(t)
    if (!p) throw new Error(`no provider for ${String(t.description ?? t.toString())}`)
    if (building.has(t)) throw new Error(`circular dependency at ${String(t.description)}`)
    building.add(t)
    try {
      const value = (p.useFactory as (...a: unknown[]) => unknown)(...p.deps.map((d) => get(d)))
      built.set(t, value)
      return value as T
    } finally {
      building.delete(t)
    }
  }
  return { get }
}
