import { readFileSync } from 'node:fs'
import { ComputeError, isSchedulerPlugin, type SchedulerConfig, type SchedulerPlugin } from '@novum/core'
import type { ReferenceServerOptions } from './config.js'

/** What the reference server hands `createDeployment` for its scheduler. */
export interface SchedulerSetup {
  readonly config: SchedulerConfig | undefined
  readonly plugins: readonly SchedulerPlugin[]
}

/**
 * The scheduler part of the configuration: the JSON file (`--scheduler-config`), then the flags on top of it
 * (`--scheduler-filters`, `--scheduler-weighers`), and the plugins of every `--scheduler-plugins` module (each
 * export that is a filter, weigher or request filter). A module that cannot be loaded, or exports no plugin, is a
 * start-up error naming it.
 */
export async function loadSchedulerSetup(options: ReferenceServerOptions): Promise<SchedulerSetup> {
  let config: SchedulerConfig | undefined
  if (options.schedulerConfigFile) {
    try {
      config = JSON.parse(readFileSync(options.schedulerConfigFile, 'utf8')) as SchedulerConfig
    } catch (err) {
      throw new ComputeError('INVALID', `cannot read the scheduler configuration ${options.schedulerConfigFile}: ${(err as Error).message}`, { cause: err })
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ComputeError('INVALID', `${options.schedulerConfigFile} must hold a JSON object (SchedulerConfig)`)
  }
  if (options.schedulerFilters) config = { ...config, filters: options.schedulerFilters }
  if (options.schedulerWeighers) config = { ...config, weighers: options.schedulerWeighers }
  const plugins: SchedulerPlugin[] = []
  for (const name of options.schedulerPlugins) {
    let mod: Record<string, unknown>
    try {
      mod = (await import(name)) as Record<string, unknown>
    } catch (err) {
      throw new ComputeError('INVALID', `cannot load scheduler plugin module "${name}": ${(err as Error).message}`, { cause: err })
    }
    const found = Object.values(mod).filter(isSchedulerPlugin)
    if (found.length === 0) throw new ComputeError('INVALID', `scheduler plugin module "${name}" exports no filter, weigher or request filter`)
    plugins.push(...found)
  }
  return { config, plugins }
}
