import type { FastifyReply, FastifyRequest } from 'fastify'
import { PlacementError } from './errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The negotiated Placement microversion's minor number (`placement 1.39` → 39); -1 until the microversion hook
     * ran (outside the Placement API, or when negotiation failed).
     */
    placementVersion: number
  }
}

/** Placement Zed's lowest microversion, also what a request without a version header gets. */
export const PLACEMENT_MIN_VERSION = '1.0'
/** Placement Zed's highest microversion (`latest`). */
export const PLACEMENT_MAX_VERSION = '1.39'
/** The minor numbers of {@link PLACEMENT_MIN_VERSION} and {@link PLACEMENT_MAX_VERSION}. */
export const PLACEMENT_MIN_MINOR = 0
/** The minor number of {@link PLACEMENT_MAX_VERSION}. */
export const PLACEMENT_MAX_MINOR = 39

/** The header Placement reads and echoes: `OpenStack-API-Version: placement 1.39`. */
export const PLACEMENT_VERSION_HEADER = 'OpenStack-API-Version'

/**
 * The `placement` entry of the `OpenStack-API-Version` header(s), as `microversion_parse.get_version` finds it:
 * headers are folded with commas and the *last* `placement <version>` entry wins; undefined when there is none.
 */
export function requestedPlacementVersion(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const raw = headers['openstack-api-version']
  if (raw === undefined) return undefined
  const entries = (Array.isArray(raw) ? raw.join(',') : raw).split(',')
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = (entries[i] as string).trim()
    const space = entry.search(/\s/)
    if (space < 0) continue
    if (entry.slice(0, space).toLowerCase() === 'placement') return entry.slice(space).trim()
  }
  return undefined
}

/** Python's `int()` of a string: optional sign, digits, surrounding whitespace; undefined otherwise. */
function pyInt(text: string): number | undefined {
  const t = text.trim()
  return /^[+-]?\d+$/.test(t) ? Number(t) : undefined
}

/**
 * Negotiates a Placement microversion as `microversion_parse.extract_version` does: none → 1.0, `latest` → 1.39,
 * something that is not `<int>.<int>` → 400, a version Placement does not have → 406 (whose body names the
 * range). Returns the minor number.
 *
 * @throws PlacementError 400 or 406 with Placement's messages.
 */
export function negotiatePlacementVersion(requested: string | undefined): number {
  if (requested === undefined) return PLACEMENT_MIN_MINOR
  if (requested === 'latest') return PLACEMENT_MAX_MINOR
  const dot = requested.indexOf('.')
  const major = dot < 0 ? undefined : pyInt(requested.slice(0, dot))
  const minor = dot < 0 ? undefined : pyInt(requested.slice(dot + 1))
  if (major === undefined || minor === undefined) {
    throw new PlacementError(400, `Invalid microversion: invalid version string: ${requested}`)
  }
  if (major !== 1 || minor < PLACEMENT_MIN_MINOR || minor > PLACEMENT_MAX_MINOR) {
    throw new PlacementError(406, `Invalid microversion: Unacceptable version header: ${requested}`, { versionRange: true })
  }
  return minor
}

const HEADER_VALUES = Array.from({ length: PLACEMENT_MAX_MINOR + 1 }, (_, minor) => `placement 1.${minor}`)

/**
 * The microversion hook (`onRequest`, after authentication as in Placement's middleware order): sets
 * `request.placementVersion` and echoes `OpenStack-API-Version` and `Vary` on the response, errors included.
 */
export function placementVersionHook(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
  let minor: number
  try {
    minor = negotiatePlacementVersion(requestedPlacementVersion(request.headers))
  } catch (err) {
    done(err as Error)
    return
  }
  request.placementVersion = minor
  reply.header(PLACEMENT_VERSION_HEADER, HEADER_VALUES[minor] as string)
  reply.header('Vary', 'openstack-api-version')
  done()
}

/** True when the request's microversion is at least `1.<minor>`. */
export function atLeast(request: FastifyRequest, minor: number): boolean {
  return request.placementVersion >= minor
}

/**
 * Placement's `version_handler`: the route does not exist below `1.<minor>` (404 by default, 405 for the few
 * methods Placement gates that way).
 */
export function requireVersion(request: FastifyRequest, minor: number, status: 404 | 405 = 404): void {
  if (request.placementVersion < minor) {
    throw status === 404 ? new PlacementError(404, 'The resource could not be found.') : new PlacementError(405, 'The method specified is not allowed for this resource.')
  }
}
