import { ComputeError, type ComputeErrorCode } from '@novum/core'
import { HttpError } from './http-error.js'

/**
 * The HTTP status of each {@link ComputeErrorCode}. This table is the only place where core's codes meet HTTP.
 *
 * - `QUOTA` is 403 (Nova's server controllers map `OverQuota`/`TooManyInstances` to 403, not 413).
 * - `NO_VALID_HOST` is 400, as Nova's synchronous paths (`migrate_server.py`) map `NoValidHost`; a boot learns of it
 *   asynchronously through the server's fault instead.
 * - `TIMEOUT` is 504: an RPC call that got no reply in time.
 * - Everything that means "a bug or a broken dependency" is 500 and shown as Nova's "Unexpected API Error".
 */
export const COMPUTE_ERROR_STATUS: Readonly<Record<ComputeErrorCode, number>> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID: 400,
  NO_VALID_HOST: 400,
  QUOTA: 403,
  FORBIDDEN: 403,
  UNAUTHORIZED: 401,
  NOT_IMPLEMENTED: 501,
  TIMEOUT: 504,
  PLUGIN: 500,
  VIRT: 500,
  TRANSPORT: 500,
  INTERNAL: 500,
}

/** The HTTP status for a ComputeError (500 for a code this table does not know). */
export function statusOfComputeError(err: ComputeError): number {
  return COMPUTE_ERROR_STATUS[err.code] ?? 500
}

/** Nova's support sentence, appended to "Unexpected API Error." (`nova.version.support_string()`). */
export const SUPPORT_STRING = 'Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.'

/** What a user sees for a failure that is a bug, never their input (Nova's `expected_errors` fallback). */
export function unexpectedErrorMessage(err: unknown): string {
  const kind = ComputeError.is(err) ? `ComputeError(${err.code})` : err instanceof Error ? err.name : typeof err
  return `Unexpected API Error. ${SUPPORT_STRING}\n<class '${kind}'>`
}

/** A thrown value reduced to what every surface's error handler needs. */
export interface ResolvedError {
  readonly statusCode: number
  /** The message for the user; for unexpected errors the generic sentence, never the internal text. */
  readonly message: string
  readonly headers?: Readonly<Record<string, string>>
  /** True for 5xx caused by a bug (logged at error level with the stack). */
  readonly unexpected: boolean
}

/** fastify's own errors (`FST_ERR_*`) that carry a client-side status. */
interface StatusCarrying {
  readonly statusCode?: number
  readonly code?: string
  readonly message?: string
}

/**
 * Turns anything a route, hook or core service threw into a status and a user-facing message.
 * Client errors keep their message; server errors from `ComputeError` codes that are expected (501, 504) keep theirs;
 * anything else is an "Unexpected API Error".
 */
export function resolveError(err: unknown): ResolvedError {
  if (err instanceof HttpError) {
    return { statusCode: err.statusCode, message: err.message, ...(err.headers ? { headers: err.headers } : {}), unexpected: err.statusCode >= 500 && err.statusCode !== 501 }
  }
  if (ComputeError.is(err)) {
    const statusCode = statusOfComputeError(err)
    if (statusCode === 500) return { statusCode, message: unexpectedErrorMessage(err), unexpected: true }
    return { statusCode, message: err.message, unexpected: false }
  }
  const s = err as StatusCarrying | null
  if (s && typeof s === 'object' && typeof s.statusCode === 'number' && s.statusCode >= 400 && s.statusCode < 500) {
    return { statusCode: s.statusCode, message: fastifyClientMessage(s), unexpected: false }
  }
  return { statusCode: 500, message: unexpectedErrorMessage(err), unexpected: true }
}

/** Nova's wording for the client errors fastify raises itself before a handler runs. */
function fastifyClientMessage(err: StatusCarrying): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported Content-Type'
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request is too large.'
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'Malformed request body: the Content-Length does not match the body'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'Malformed request body'
    default:
      return err.message ?? 'Bad request'
  }
}
