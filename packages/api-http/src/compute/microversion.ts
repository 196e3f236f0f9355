import { HttpError } from '../common/http-error.js'

/**
 * A compute API microversion as one comparable integer: `major * 1000 + minor` (2.47 → 2047).
 * Compare with `>=` against constants from {@link mv}.
 */
export type Microversion = number

/** The integer form of a `"X.Y"` literal; use it for constants (`const V2_47 = mv('2.47')`). */
export function mv(version: `${number}.${number}`): Microversion {
  const [major, minor] = version.split('.')
  return Number(major) * 1000 + Number(minor)
}

/** The `"X.Y"` form of a microversion. */
export function formatMicroversion(version: Microversion): string {
  return `${Math.floor(version / 1000)}.${version % 1000}`
}

/** Zed's lowest compute microversion, also what a request without a version header gets. */
export const MIN_MICROVERSION: Microversion = mv('2.1')
/** Zed's highest compute microversion (`latest`). */
export const MAX_MICROVERSION: Microversion = mv('2.93')

/** The header clients send since 2.27: `OpenStack-API-Version: compute 2.53`. */
export const API_VERSION_HEADER = 'OpenStack-API-Version'
/** The legacy header: `X-OpenStack-Nova-API-Version: 2.53`. */
export const LEGACY_API_VERSION_HEADER = 'X-OpenStack-Nova-API-Version'
/** The `Vary` value of every versioned response. */
export const VARY_VALUE = `${API_VERSION_HEADER}, ${LEGACY_API_VERSION_HEADER}`

const VERSION_RE = /^([1-9]\d*)\.([1-9]\d*|0)$/

/**
 * The compute version a client asked for, found the way `microversion_parse.get_version` does: the
 * `OpenStack-API-Version` header's `compute` entry wins (entries are comma-separated `service version` pairs);
 * otherwise the legacy header; otherwise undefined.
 */
export function requestedVersion(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const modern = headers['openstack-api-version']
  if (modern !== undefined) {
    for (const value of Array.isArray(modern) ? modern : [modern]) {
      for (const entry of value.split(',')) {
        const [service, version] = entry.trim().split(/\s+/, 2)
        if (service?.toLowerCase() === 'compute' && version !== undefined) return version
      }
    }
  }
  const legacy = headers['x-openstack-nova-api-version']
  if (legacy !== undefined) return (Array.isArray(legacy) ? legacy.join(',') : legacy).trim()
  return undefined
}

/**
 * Negotiates the request's microversion (Nova `Request.set_api_version_request`): no header → 2.1, `latest` → 2.93,
 * a string that is not `X.Y` → 400, a well-formed version outside [2.1, 2.93] → 406.
 *
 * @throws HttpError 400 or 406 with Nova's messages.
 */
export function negotiateMicroversion(requested: string | undefined, min = MIN_MICROVERSION, max = MAX_MICROVERSION): Microversion {
  if (requested === undefined) return min
  if (requested.toLowerCase() === 'latest') return max
  const m = VERSION_RE.exec(requested)
  if (!m) {
    throw new HttpError(400, `API Version String ${requested} is of invalid format. Must be of format MajorNum.MinorNum.`)
  }
  const major = Number(m[1])
  const minor = Number(m[2])
  const version = major * 1000 + minor
  if (version < min || version > max || minor >= 1000) {
    throw new HttpError(406, `Version ${major}.${minor} is not supported by the API. Minimum is ${formatMicroversion(min)} and maximum is ${formatMicroversion(max)}.`)
  }
  return version
}
