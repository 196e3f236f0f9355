import { ComputeError } from '../errors/compute-error.js'
import type { HostFilter } from './filter.js'
import type { HostWeigher } from './weigher.js'

/** A filter of any options and state types, as the registry stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHostFilter = HostFilter<any, any>
/** A weigher of any options and state types, as the registry stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHostWeigher = HostWeigher<any, any>
/** Anything the registry accepts. */
export type SchedulerPlugin = AnyHostFilter | AnyHostWeigher

function isFilter(p: SchedulerPlugin): p is AnyHostFilter {
  return typeof (p as AnyHostFilter).filter === 'function'
}

function isWeigher(p: SchedulerPlugin): p is AnyHostWeigher {
  return typeof (p as AnyHostWeigher).weigh === 'function'
}

/**
 * Scheduler plugins by name (the k8s framework `Registry`): filters and weighers share one namespace, so a name
 * means one plugin. A duplicate name throws. Aliases let configuration use another name for a plugin (Nova's
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
  private readonly aliases = new Map<string, string>()

  /** Adds plugins; throws `INVALID` for a name already taken (by a plugin or an alias) or a malformed plugin. */
  register(...plugins: readonly SchedulerPlugin[]): this {
    for (const plugin of plugins) {
      const name = plugin?.name
      if (typeof name !== 'string' || name.length === 0) throw new ComputeError('INVALID', `a scheduler plugin needs a non-empty name (got ${JSON.stringify(name)})`)
      if (this.has(name)) throw new ComputeError('INVALID', `scheduler plugin "${name}" is already registered`)
      if (isFilter(plugin)) this.filters.set(name, plugin)
      else if (isWeigher(plugin)) this.weighers.set(name, plugin)
      else throw new ComputeError('INVALID', `scheduler plugin "${name}" has neither a filter() nor a weigh() method`)
    }
    return this
  }

  /** Lets configuration name plugin `target` as `alias`; throws `INVALID` if the alias is taken or the target unknown. */
  alias(alias: string, target: string): this {
    if (this.has(alias)) throw new ComputeError('INVALID', `scheduler plugin name "${alias}" is already registered`)
    if (!this.filters.has(target) && !this.weighers.has(target)) throw new ComputeError('INVALID', `cannot alias "${alias}" to unknown scheduler plugin "${target}"`)
    this.aliases.set(alias, target)
    return this
  }

  /** True when `name` is a registered plugin or alias. */
  has(name: string): boolean {
    return this.filters.has(name) || this.weighers.has(name) || this.aliases.has(name)
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

  /** Registered filter names, sorted. */
  filterNames(): string[] {
    return [...this.filters.keys()].sort()
  }

  /** Registered weigher names, sorted. */
  weigherNames(): string[] {
    return [...this.weighers.keys()].sort()
  }
}

/** An empty registry, for a deployment that wants no in-tree plugins (see `createInTreeRegistry`). */
export function createRegistry(): PluginRegistry {
  return new PluginRegistry()
}
