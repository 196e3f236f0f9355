import type { HostState } from '../../model/host-state.js'
import type { RequestSpec } from '../../model/request-spec.js'
import { defineFilter, pass, reject } from '../filter.js'

/** A parsed `query` hint, or why it could not be parsed. */
export type JsonFilterState = { readonly query: unknown } | { readonly error: string } | undefined

type Value = unknown

function sameType(a: Value, b: Value): boolean {
  return typeof a === typeof b && (typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean')
}

function compare(args: readonly Value[], op: (a: number | string, b: number | string) => boolean): boolean {
  if (args.length < 2) return false
  const [first, ...rest] = args
  return rest.every((b) => sameType(first, b) && op(first as number | string, b as number | string))
}

const COMMANDS: Readonly<Record<string, (args: readonly Value[]) => Value>> = {
  '=': (args) => args.length >= 2 && args.slice(1).every((b) => b === args[0]),
  '<': (args) => compare(args, (a, b) => a < b),
  '>': (args) => compare(args, (a, b) => a > b),
  '<=': (args) => compare(args, (a, b) => a <= b),
  '>=': (args) => compare(args, (a, b) => a >= b),
  in: (args) => args.length >= 2 && args.slice(1).includes(args[0]),
  not: (args) => args.map((a) => !truthy(a)),
  or: (args) => args.some(truthy),
  and: (args) => args.every(truthy),
}

/** Python truthiness, which Nova's JsonFilter relies on. */
function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0
  if (v && typeof v === 'object') return Object.keys(v).length > 0
  return Boolean(v)
}

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** `$free_ram_mb` → the host's `freeRamMb`; `$stats.num_instances` → `host.stats['num_instances']`; unknown → undefined. */
function variable(name: string, host: HostState): Value {
  const path = name.slice(1).split('.')
  const record = host as unknown as Record<string, unknown>
  const head = path[0] as string
  let obj: unknown = record[head] ?? record[camel(head)]
  for (let i = 1; i < path.length; i++) {
    if (obj === null || typeof obj !== 'object') return undefined
    const o = obj as Record<string, unknown>
    const key = path[i] as string
    // Metric names contain dots (`cpu.percent`): try the rest of the path as one key first.
    const rest = path.slice(i).join('.')
    if (rest in o) return o[rest]
    obj = o[key] ?? o[camel(key)]
  }
  return obj ?? undefined
}

function evaluate(query: readonly Value[], host: HostState): Value {
  if (query.length === 0) return true
  const [cmd, ...args] = query
  const method = typeof cmd === 'string' ? COMMANDS[cmd] : undefined
  if (!method) throw new Error(`unknown JsonFilter operator ${JSON.stringify(cmd)} (known: ${Object.keys(COMMANDS).join(' ')})`)
  const cooked: Value[] = []
  for (const arg of args) {
    let v: Value = arg
    if (Array.isArray(arg)) v = evaluate(arg, host)
    else if (typeof arg === 'string') v = arg === '' ? undefined : arg.startsWith('$') ? variable(arg, host) : arg
    if (v !== undefined && v !== null) cooked.push(v)
  }
  return method(cooked)
}

function parse(request: RequestSpec): JsonFilterState {
  const hint = request.schedulerHints['query']?.[0]
  if (hint === undefined || hint === '') return undefined
  try {
    const query: unknown = JSON.parse(hint)
    if (!Array.isArray(query)) return { error: `the query hint must be a JSON list, got ${hint.slice(0, 100)}` }
    return { query }
  } catch (err) {
    return { error: `the query hint is not JSON (${(err as Error).message})` }
  }
}

/**
 * Runs the JSON expression of the `query` scheduler hint against each host (Nova `JsonFilter`): a prefix list such as
 * `["and", [">=", "$free_ram_mb", 1024], ["<", "$num_instances", 10]]` with the operators `= < > in <= >= not or
 * and`; `$name` reads a host state attribute in Nova's snake_case (`$free_disk_mb`, `$stats.num_instances`), unknown
 * ones are dropped from the arguments. A list result passes if any element is true. The hint is parsed once per
 * request; an unparsable one rejects every host.
 */
export const JsonFilter = defineFilter<undefined, JsonFilterState>({
  name: 'JsonFilter',
  prepare: (request) => parse(request),
  filter(host, request, { state }) {
    const parsed = state ?? parse(request)
    if (parsed === undefined) return pass()
    if ('error' in parsed) return reject(parsed.error, { unresolvable: true })
    let result: Value
    try {
      result = evaluate(parsed.query as readonly Value[], host)
    } catch (err) {
      return reject((err as Error).message, { unresolvable: true })
    }
    if (Array.isArray(result) ? result.some(truthy) : truthy(result)) return pass()
    return reject(`query ${JSON.stringify(parsed.query)} is false for this host`)
  },
})
