import { ComputeError } from '../errors/compute-error.js'
import type { HostState } from '../model/host-state.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { FilterResult, PluginContext } from './filter.js'
import type { AnyHostFilter } from './registry.js'

/** A filter ready to run for one request: its options and what its `prepare` returned. */
export interface PreparedFilter {
  readonly plugin: AnyHostFilter
  readonly options: unknown
  readonly state: unknown
}

/** One filter's verdict on one host, as the explanation records it. */
export interface FilterVerdict {
  readonly filter: string
  readonly passed: boolean
  /** Why the host was rejected (absent when it passed). */
  readonly reason?: string
}

/** A host a filter removed, with the filter's name and reason (what `NoValidHostError` summarises). */
export interface FilterRejection {
  readonly host: string
  readonly nodename: string
  readonly uuid: string
  readonly by: string
  readonly reason: string
}

/** What {@link runFilters} returns. */
export interface FilterRunResult {
  /** The names of the filters that ran, in order. */
  readonly ran: readonly string[]
  /** The filters that were due but had nothing to say about this request (`appliesTo` answered false). */
  readonly notApplicable: readonly string[]
  /** The hosts every filter passed, in input order. */
  readonly passed: readonly HostState[]
  /** Host uuid → the verdicts of the filters that ran on it, in order (a host stops at its first rejection). */
  readonly verdicts: ReadonlyMap<string, readonly FilterVerdict[]>
  /** One entry per removed host. */
  readonly rejections: readonly FilterRejection[]
}

/** Which instance the filters run for, and whether this is a same-host rebuild. */
export interface FilterRunContext {
  readonly instanceUuid: string | null
  readonly instanceIndex: number
}

/** Runs `prepare` of each filter that has one (once per request). */
export async function prepareFilters(filters: readonly { readonly plugin: AnyHostFilter; readonly options: unknown }[], request: RequestSpec): Promise<PreparedFilter[]> {
  return Promise.all(
    filters.map(async ({ plugin, options }) => {
      if (!plugin.prepare) return { plugin, options, state: undefined }
      try {
        return { plugin, options, state: await plugin.prepare(request, { options }) }
      } catch (err) {
        throw pluginError(plugin.name, `prepare failed: ${(err as Error)?.message ?? String(err)}`, err)
      }
    }),
  )
}

/** Runs a plugin's `appliesTo`; anything but a boolean, or a throw, fails the request as a plugin error. */
export function applies(plugin: string, ask: () => unknown): boolean {
  let answer: unknown
  try {
    answer = ask()
  } catch (err) {
    throw pluginError(plugin, `appliesTo failed: ${(err as Error)?.message ?? String(err)}`, err)
  }
  if (typeof answer !== 'boolean') throw pluginError(plugin, `appliesTo returned ${JSON.stringify(answer)} instead of a boolean`, undefined)
  return answer
}

function pluginError(plugin: string, message: string, cause: unknown, host?: string): ComputeError {
  return new ComputeError('PLUGIN', `scheduler plugin "${plugin}" ${message}`, { cause, details: { plugin, ...(host ? { host } : {}) } })
}

/** Options of {@link runFilters}. */
export interface FilterRunOptions {
  /**
   * Record every filter's verdict on every host in `verdicts`. Off, `verdicts` stays empty and only `rejections`
   * say what happened (what the scheduler needs; it saves one record per host and filter). @default true
   */
  readonly recordVerdicts?: boolean
}

/**
 * Runs the filter chain over the hosts (Nova `filter_all`): each host goes through the filters in order until one
 * rejects it. Filters marked `runOncePerRequest` run only for the first instance; for a rebuild
 * (`request.isRebuild`) only `runOnRebuild` filters run. A filter that throws, or returns something other than
 * `pass()`/`reject()`, fails the whole request with `ComputeError('PLUGIN', …, { cause })`.
 */
export function runFilters(
  filters: readonly PreparedFilter[],
  hosts: readonly HostState[],
  request: RequestSpec,
  context: FilterRunContext,
  options: FilterRunOptions = {},
): FilterRunResult {
  const record = options.recordVerdicts ?? true
  const due = filters.filter((f) => (request.isRebuild ? f.plugin.runOnRebuild === true : !(f.plugin.runOncePerRequest === true && context.instanceIndex > 0)))
  const active: PreparedFilter[] = []
  const contexts: PluginContext<unknown, unknown>[] = []
  const notApplicable: string[] = []
  for (const f of due) {
    const ctx = { options: f.options, state: f.state, instanceUuid: context.instanceUuid, instanceIndex: context.instanceIndex }
    if (f.plugin.appliesTo && !applies(f.plugin.name, () => (f.plugin.appliesTo as NonNullable<AnyHostFilter['appliesTo']>)(request, ctx))) {
      notApplicable.push(f.plugin.name)
      continue
    }
    active.push(f)
    contexts.push(ctx)
  }
  const passed: HostState[] = []
  const verdicts = new Map<string, FilterVerdict[]>()
  const rejections: FilterRejection[] = []
  for (const host of hosts) {
    const list: FilterVerdict[] | null = record ? [] : null
    if (list) verdicts.set(host.uuid, list)
    let ok = true
    for (let j = 0; j < active.length; j++) {
      const f = active[j] as PreparedFilter
      let result: FilterResult
      try {
        result = f.plugin.filter(host, request, contexts[j] as PluginContext<unknown, unknown>)
      } catch (err) {
        throw pluginError(f.plugin.name, `failed on host ${host.host}: ${(err as Error)?.message ?? String(err)}`, err, host.host)
      }
      if (typeof result !== 'object' || result === null || typeof result.passed !== 'boolean') {
        throw pluginError(f.plugin.name, `returned ${JSON.stringify(result)} on host ${host.host} instead of pass() or reject()`, undefined, host.host)
      }
      if (result.passed) {
        list?.push({ filter: f.plugin.name, passed: true })
        continue
      }
      list?.push({ filter: f.plugin.name, passed: false, reason: result.reason })
      rejections.push({ host: host.host, nodename: host.nodename, uuid: host.uuid, by: f.plugin.name, reason: result.reason })
      ok = false
      break
    }
    if (ok) passed.push(host)
  }
  return { ran: active.map((f) => f.plugin.name), notApplicable, passed, verdicts, rejections }
}
