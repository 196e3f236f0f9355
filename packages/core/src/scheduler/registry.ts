import { ComputeError } from '../errors/compute-error.js'
import type { HostFilter } from './filter.js'
import type { RequestFilter } from './request-filter.js'
import type { HostWeigher } from './weigher.js'

/** A filter of any options and state types, as the registry stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHostFilter = HostFilter<any, any>
/** A weigher of any options and state types, as the registry stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHostWeigher = HostWeigher<any, any>
/** A request filter of any options type, as the registry stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRequestFilter = RequestFilter<any>
/** Anything the registry accepts. */
export type SchedulerPlugin = AnyHostFilter | AnyHostWeigher | AnyRequestFilter

/** True when `value` looks like a scheduler plugin: a non-empty `name` and a `filter`, `weigh` or `apply` method. */
export function isSchedulerPlugin(value: unknown): value is SchedulerPlugin {
  if (typeof value !== 'object' || value === null) return false
  const p = value as Record<string, unknown>
  return typeof p['name'] === 'string' && p['name'] !== '' && (typeof p['filter'] === 'function' || typeof p['weigh'] === 'function' || typeof p['apply'] === 'function')
}

function isFilter(p: SchedulerPlugin): p is AnyHostFilter {
  return typeof (p as AnyHostFilter).filter === 'function'
}

function isWeigher(p: SchedulerPlugin): p is AnyHostWeigher {
  return typeof (p as AnyHostWeigher).weigh === 'function'
}

function isRequestFilter(p: SchedulerPlugin): p is AnyRequestFilter {
  return typeof (p as AnyRequestFilter).apply === 'function'
}

/**
 * Scheduler plugins by name (the k8s framework `Registry`): filters, weighers and request filters share one
 * namespace, so a name means one plugin. A duplicate name throws. Aliases let configuration use another name for a plugin (Nova's
 * `RAMWeigher` for `RamWeigher`).
 *
 * @example
 * ```ts
 * const registry = createInTreeRegistry().register(AcmeGpuFilter)
 * registry.filter('AcmeGpuFilter') // → AcmeGpuFilter
 * ```
 */
export class PluginRegistry {
  private readonly filters = new Map<string, AnyHostFilter>()
  private readonly weighers = new Map<string, AnyHostWeigher>()
  private readonly requestFilters = new Map<string, AnyRequestFilter>()
  private readonly aliases = new Map<string, string>()

  /** Adds plugins; throws `INVALID` for a name already taken (by a plugin or an alias) or a malformed plugin. */
  register(...plugins: readonly SchedulerPlugin[]): this {
    for (const plugin of plugins) {
      const name = plugin?.name
      if (typeof name !== 'string' || name.length === 0) throw new ComputeError('INVALID', `a scheduler plugin needs a non-empty name (got ${JSON.stringify(name)})`)
      if (this.has(name)) throw new ComputeError('INVALID', `scheduler plugin "${name}" is already registered`)
      if (isFilter(plugin)) this.filters.set(name, plugin)
      else if (isWeigher(plugin)) this.weighers.set(name, plugin)
      else if (isRequestFilter(plugin)) this.requestFilters.set(name, plugin)
      else throw new ComputeError('INVALID', `scheduler plugin "${name}" has neither a filter(), a weigh() nor an apply() method`)
    }
    return this
  }

  /** Lets configuration name plugin `target` as `alias`; throws `INVALID` if the alias is taken or the target unknown. */
  alias(alias: string, target: string): this {
    if (this.has(alias)) throw new ComputeError('INVALID', `scheduler plugin name "${alias}" is already registered`)
    if (!this.filters.has(target) && !this.weighers.has(target) && !this.requestFilters.has(target)) throw new ComputeError('INVALID', `cannot alias "${alias}" to unknown scheduler plugin "${target}"`)
    this.aliases.set(alias, target)
    return this
  }

  /** True when `name` is a registered plugin or alias. */
  has(name: string): boolean {
    return this.filters.has(name) || this.weighers.has(name) || this.requestFilters.has(name) || this.aliases.has(name)
  }

  /** The canonical name for a name or alias (the name itself when unknown). */
  resolve(name: string): string {
    return this.aliases.get(name) ?? name
  }

  /** The filter registered under `name` (or an alias of it). */
  filter(name: string): AnyHostFilter | undefined {
    return this.filters.get(this.resolve(name))
  }

  /** The weigher registered under `name` (or an alias of it). */
  weigher(name: string): AnyHostWeigher | undefined {
    return this.weighers.get(this.resolve(name))
  }

  /** The request filter registered under `name` (or an alias of it). */
  requestFilter(name: string): AnyRequestFilter | undefined {
    return this.requestFilters.get(this.resolve(name))
  }

  /** Registered filter names, sorted. */
  filterNames(): string[] {
    return [...this.filters.keys()].sort()
  }

  /** Registered weigher names, sorted. */
  weigherNames(): string[] {
    return [...this.weighers.keys()].sort()
  }

  /** Registered request filter names, sorted. */
  requestFilterNames(): string[] {
    return [...this.requestFilters.keys()].sort()
  }
}

/** An empty registry, for a deployment that wants no in-tree plugins (see `createInTreeRegistry`). */
export function createRegistry(): PluginRegistry {
  return new PluginRegistry()
}
