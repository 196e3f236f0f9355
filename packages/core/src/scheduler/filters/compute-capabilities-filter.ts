import type { HostState } from '../../model/host-state.js'
import { matchExtraSpec } from '../extra-specs-ops.js'
import { defineFilter, pass, reject } from '../filter.js'

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** A top-level HostState attribute under Nova's snake_case name (`free_ram_mb` → `freeRamMb`). */
function hostAttribute(host: HostState, key: string): unknown {
  const record = host as unknown as Record<string, unknown>
  const name = camel(key)
  return Object.hasOwn(record, name) ? record[name] : undefined
}

/** Walks a `capabilities:` path: a HostState attribute (or a `stats` entry), then keys into nested objects. */
function capability(host: HostState, path: readonly string[]): unknown {
  let cap: unknown = host
  for (const [i, key] of path.entries()) {
    if (typeof cap === 'string') {
      try {
        cap = JSON.parse(cap)
      } catch {
        return undefined
      }
    }
    if (i === 0) cap = hostAttribute(host, key) ?? host.stats[key]
    else if (typeof cap === 'object' && cap !== null) cap = (cap as Record<string, unknown>)[key]
    else return undefined
    if (cap === undefined || cap === null) return undefined
  }
  return cap
}

const asString = (v: unknown): string => (typeof v === 'object' && v !== null && !Array.isArray(v) ? JSON.stringify(v) : String(v))

/**
 * Matches flavor extra specs against host capabilities (Nova `ComputeCapabilitiesFilter`): keys scoped
 * `capabilities:` (e.g. `capabilities:cpu_info:arch`) walk the host state — Nova's snake_case attribute names,
 * then `stats` — and compare with the extra-spec operators; unscoped keys count only when the host has such an
 * attribute or stat; other scopes are ignored. Runs once per request.
 */
export const ComputeCapabilitiesFilter = defineFilter({
  name: 'ComputeCapabilitiesFilter',
  runOncePerRequest: true,
  // Only unscoped and `capabilities:` keys are compared.
  appliesTo: (request) => Object.keys(request.flavor.extraSpecs).some((key) => !key.includes(':') || key.startsWith('capabilities:')),
  filter(host, request) {
    for (const [key, requirement] of Object.entries(request.flavor.extraSpecs)) {
      const scope = key.split(':')
      if (scope.length === 1) {
        if (hostAttribute(host, key) === undefined && !(key in host.stats)) continue
      } else if (scope[0] === 'capabilities') {
        scope.shift()
      } else {
        continue
      }
      const cap = capability(host, scope)
      if (cap === undefined) return reject(`host has no capability ${scope.join(':')} (extra spec ${key}=${requirement})`)
      const value = asString(cap)
      if (!matchExtraSpec(value, requirement)) return reject(`capability ${scope.join(':')} is ${value}, extra spec ${key} wants ${requirement}`)
    }
    return pass()
  },
})
