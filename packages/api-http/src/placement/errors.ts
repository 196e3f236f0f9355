import type { FastifyReply, FastifyRequest } from 'fastify'
import { ComputeError } from '@novum/core'
import { resolveError } from '../common/error-status.js'
import { HttpError } from '../common/http-error.js'
import { STATUS_TEXT } from '../common/status-text.js'

/** Placement's error codes (`placement/errors.py`), sent in `errors[].code` from microversion 1.23. */
export const PLACEMENT_ERROR_CODES = {
  DEFAULT: 'placement.undefined_code',
  INVENTORY_INUSE: 'placement.inventory.inuse',
  CONCURRENT_UPDATE: 'placement.concurrent_update',
  DUPLICATE_NAME: 'placement.duplicate_name',
  PROVIDER_IN_USE: 'placement.resource_provider.inuse',
  PROVIDER_CANNOT_DELETE_PARENT: 'placement.resource_provider.cannot_delete_parent',
  RESOURCE_PROVIDER_NOT_FOUND: 'placement.resource_provider.not_found',
  ILLEGAL_DUPLICATE_QUERYPARAM: 'placement.query.duplicate_key',
  QUERYPARAM_BAD_VALUE: 'placement.query.bad_value',
  QUERYPARAM_MISSING_VALUE: 'placement.query.missing_value',
} as const

/** The microversion from which error bodies carry `code`. */
const ERROR_CODE_MINOR = 23

/**
 * An error of the Placement API with its status, Placement's message and error code (the `comment=` of
 * Placement's `webob.exc.HTTP*` raises). Routes throw it; the app's error handler renders it.
 */
export class PlacementError extends HttpError {
  /** Placement's error code; `placement.undefined_code` when the handler names none. */
  readonly code: string
  /** A 406 from microversion negotiation: the body also names `min_version` and `max_version`. */
  readonly versionRange: boolean

  constructor(statusCode: number, message: string, options: { readonly code?: string; readonly headers?: Readonly<Record<string, string>>; readonly versionRange?: boolean } = {}) {
    super(statusCode, message, options.headers)
    this.code = options.code ?? PLACEMENT_ERROR_CODES.DEFAULT
    this.versionRange = options.versionRange ?? false
  }
}

/** A 400 with Placement's message (and optional code). */
export function placementBadRequest(message: string, code?: string): PlacementError {
  return new PlacementError(400, message, code ? { code } : {})
}

/** One entry of Placement's `errors` list. */
export interface PlacementErrorEntry {
  readonly status: number
  readonly title: string
  readonly detail: string
  readonly code?: string
  readonly request_id?: string
  readonly min_version?: string
  readonly max_version?: string
}

/** What {@link placementErrorBody} needs to know about the request. */
export interface PlacementErrorContext {
  /** The negotiated minor version, or -1 when negotiation did not happen (no `code` then). */
  readonly minor: number
  readonly requestId?: string
  /** The version range for a 406 from negotiation (`min_version`, `max_version`). */
  readonly range?: { readonly min: string; readonly max: string }
}

/**
 * Placement's error body (`util.json_error_formatter`, API-WG errors guideline):
 * `{"errors": [{"status": 409, "title": "Conflict", "detail": "…", "code": "placement.concurrent_update", "request_id": "req-…"}]}`.
 * `code` appears from microversion 1.23; a 406 from microversion negotiation names the supported range.
 */
export function placementErrorBody(statusCode: number, detail: string, code: string, context: PlacementErrorContext): { errors: PlacementErrorEntry[] } {
  const entry: Record<string, unknown> = { status: statusCode, title: STATUS_TEXT[statusCode] ?? 'Error', detail }
  if (context.minor >= ERROR_CODE_MINOR) entry['code'] = code
  if (context.requestId) entry['request_id'] = context.requestId
  if (context.range) {
    entry['max_version'] = context.range.max
    entry['min_version'] = context.range.min
  }
  return { errors: [entry as unknown as PlacementErrorEntry] }
}

/** The Placement error code a thrown value carries: a {@link PlacementError}'s, or a `ComputeError`'s `details.code`. */
export function placementCodeOf(err: unknown): string {
  if (err instanceof PlacementError) return err.code
  if (ComputeError.is(err)) {
    const code = err.details?.['code']
    if (typeof code === 'string' && code.startsWith('placement.')) return code
  }
  return PLACEMENT_ERROR_CODES.DEFAULT
}

/**
 * Sends anything a hook, route or core service threw as Placement's error body, with the status
 * {@link resolveError} gives it (core's `ComputeError` codes map as everywhere in api-http).
 */
export function sendPlacementError(request: FastifyRequest, reply: FastifyReply, err: unknown, range: { readonly min: string; readonly max: string }): FastifyReply {
  const resolved = resolveError(err)
  if (resolved.unexpected) request.log.error({ err }, 'unexpected API error')
  else request.log.info({ status: resolved.statusCode, reason: resolved.message }, 'request failed')
  if (resolved.headers) reply.headers(resolved.headers)
  const withRange = err instanceof PlacementError && err.versionRange
  const body = placementErrorBody(resolved.statusCode, resolved.message, placementCodeOf(err), {
    minor: request.placementVersion,
    requestId: request.id,
    ...(withRange ? { range } : {}),
  })
  return reply.code(resolved.statusCode).type('application/json').send(body)
}
