import { Ajv } from 'ajv'
import { ComputeError } from '../errors/compute-error.js'
import type { AnyHostFilter, AnyHostWeigher, AnyRequestFilter, PluginRegistry } from './registry.js'

/**
 * Which plugins the scheduler runs and how (Nova `[filter_scheduler]` + the k8s scheduler profile). Names may be
 * canonical names or registered aliases (Nova's `RAMWeigher` for `RamWeigher`).
 */
export interface SchedulerProfileConfig {
  /** Filters in the order they run, most restrictive first. @default {@link DEFAULT_FILTERS} (Nova Zed `enabled_filters`) */
  readonly filters?: readonly string[]
  /** Weigher name → multiplier. @default {@link DEFAULT_WEIGHERS} */
  readonly weighers?: Readonly<Record<string, number>>
  /**
   * Request filters (Nova's prefilters) in the order they run, before Placement is asked. Listing one enables it
   * (Nova's per-prefilter switches). @default {@link DEFAULT_REQUEST_FILTERS}
   */
  readonly requestFilters?: readonly string[]
  /** Options per plugin name, validated against the plugin's `optionsSchema` once, here. */
  readonly pluginOptions?: Readonly<Record<string, unknown>>
  /** Pick uniformly among this many best hosts (Nova `host_subset_size`). @default 1 */
  readonly hostSubsetSize?: number
  /** Attempts per instance: the claimed host plus `maxAttempts − 1` alternates (Nova `[scheduler]max_attempts`). @default 3 */
  readonly maxAttempts?: number
}

/** A filter with its validated options. */
export interface ConfiguredFilter {
  readonly plugin: AnyHostFilter
  readonly options: unknown
}

/** A weigher with its validated options and its multiplier. */
export interface ConfiguredWeigher {
  readonly plugin: AnyHostWeigher
  readonly options: unknown
  readonly multiplier: number
}

/** A request filter with its validated options. */
export interface ConfiguredRequestFilter {
  readonly plugin: AnyRequestFilter
  readonly options: unknown
}

/** A validated, resolved {@link SchedulerProfileConfig}: what the scheduler runs per request. */
export interface SchedulerProfile {
  readonly requestFilters: readonly ConfiguredRequestFilter[]
  readonly filters: readonly ConfiguredFilter[]
  readonly weighers: readonly ConfiguredWeigher[]
  readonly hostSubsetSize: number
  readonly maxAttempts: number
}

/** Nova Zed's default `[filter_scheduler]enabled_filters`. */
export const DEFAULT_FILTERS: readonly string[] = Object.freeze([
  'ComputeFilter',
  'ComputeCapabilitiesFilter',
  'ImagePropertiesFilter',
  'ServerGroupAntiAffinityFilter',
  'ServerGroupAffinityFilter',
])

/**
 * The request filters every profile has: Nova's `compute_status_filter`, which is always on. As in Nova Zed, the
 * scheduler puts `AvailabilityZoneRequestFilter` in front of them unless
 * `SchedulerConfig.queryPlacementForAvailabilityZone` is false (`query_placement_for_availability_zone`), or
 * `requestFilters` names them all itself.
 */
export const DEFAULT_REQUEST_FILTERS: readonly string[] = Object.freeze(['ComputeStatusRequestFilter'])

/**
 * The default weighers and multipliers (Nova Zed runs all weighers; these are its defaults for the ones Novum has).
 * `BuildFailureWeigher` weighs `−failedBuilds`, so its multiplier stays positive as in Nova's config.
 */
export const DEFAULT_WEIGHERS: Readonly<Record<string, number>> = Object.freeze({
  RamWeigher: 1,
  CpuWeigher: 1,
  DiskWeigher: 1,
  IoOpsWeigher: -1,
  BuildFailureWeigher: 1_000_000,
  MetricsWeigher: 1,
  ServerGroupSoftAffinityWeigher: 1,
  ServerGroupSoftAntiAffinityWeigher: 1,
})

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ComputeError('INVALID', `invalid scheduler ${name} ${JSON.stringify(value)}: must be an integer ≥ 1`)
  return value
}

/**
 * Resolves plugin names against the registry and validates every option once (ajv, with schema defaults applied).
 * Throws `ComputeError('INVALID')` naming the offending value: `unknown filter "X" (available: …)`, an invalid
 * multiplier, options that fail a plugin's schema, or options for a plugin that takes none.
 *
 * @example
 * ```ts
 * const profile = createSchedulerProfile(createInTreeRegistry(), { filters: ['ComputeFilter'], weighers: { RAMWeigher: -1 } })
 * ```
 */
export function createSchedulerProfile(registry: PluginRegistry, config: SchedulerProfileConfig = {}): SchedulerProfile {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false })
  const pluginOptions = config.pluginOptions ?? {}
  for (const name of Object.keys(pluginOptions)) {
    if (!registry.has(name)) {
      throw new ComputeError('INVALID', `options given for unknown scheduler plugin "${name}" (available: ${[...registry.filterNames(), ...registry.weigherNames(), ...registry.requestFilterNames()].join(', ')})`)
    }
  }
  const optionsFor = (plugin: AnyHostFilter | AnyHostWeigher | AnyRequestFilter): unknown => {
    const given = Object.entries(pluginOptions).find(([k]) => registry.resolve(k) === plugin.name)?.[1]
    if (!plugin.optionsSchema) {
      if (given !== undefined) throw new ComputeError('INVALID', `scheduler plugin "${plugin.name}" takes no options (got ${JSON.stringify(given)})`)
      return plugin.defaultOptions
    }
    const value = structuredClone(given ?? plugin.defaultOptions ?? {})
    let validate
    try {
      validate = ajv.compile(plugin.optionsSchema as Record<string, unknown>)
    } catch (err) {
      throw new ComputeError('PLUGIN', `scheduler plugin "${plugin.name}" has an invalid options schema: ${(err as Error).message}`, { cause: err })
    }
    if (!validate(value)) {
      throw new ComputeError('INVALID', `invalid options for scheduler plugin "${plugin.name}": ${ajv.errorsText(validate.errors, { dataVar: 'options' })}`, {
        details: { plugin: plugin.name, options: given },
      })
    }
    return Object.freeze(value)
  }

  const seen = new Set<string>()
  const requestFilters = (config.requestFilters ?? DEFAULT_REQUEST_FILTERS).map((name) => {
    const plugin = registry.requestFilter(name)
    if (!plugin) throw new ComputeError('INVALID', `unknown request filter "${name}" (available: ${registry.requestFilterNames().join(', ')})`)
    if (seen.has(plugin.name)) throw new ComputeError('INVALID', `request filter "${name}" is listed more than once`)
    seen.add(plugin.name)
    return { plugin, options: optionsFor(plugin) }
  })
  const filterNames = config.filters ?? DEFAULT_FILTERS
  const filters = filterNames.map((name) => {
    const plugin = registry.filter(name)
    if (!plugin) throw new ComputeError('INVALID', `unknown filter "${name}" (available: ${registry.filterNames().join(', ')})`)
    if (seen.has(plugin.name)) throw new ComputeError('INVALID', `filter "${name}" is listed more than once`)
    seen.add(plugin.name)
    return { plugin, options: optionsFor(plugin) }
  })
  const weighers = Object.entries(config.weighers ?? DEFAULT_WEIGHERS).map(([name, multiplier]) => {
    const plugin = registry.weigher(name)
    if (!plugin) throw new ComputeError('INVALID', `unknown weigher "${name}" (available: ${registry.weigherNames().join(', ')})`)
    if (seen.has(plugin.name)) throw new ComputeError('INVALID', `weigher "${name}" is listed more than once`)
    seen.add(plugin.name)
    if (typeof multiplier !== 'number' || !Number.isFinite(multiplier)) throw new ComputeError('INVALID', `invalid multiplier ${JSON.stringify(multiplier)} for weigher "${name}": must be a finite number`)
    return { plugin, options: optionsFor(plugin), multiplier }
  })
  return Object.freeze({
    requestFilters: Object.freeze(requestFilters),
    filters: Object.freeze(filters),
    weighers: Object.freeze(weighers),
    hostSubsetSize: positiveInteger(config.hostSubsetSize ?? 1, 'hostSubsetSize'),
    maxAttempts: positiveInteger(config.maxAttempts ?? 3, 'maxAttempts'),
  })
}
