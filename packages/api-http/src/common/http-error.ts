/**
 * An error that already knows its HTTP status: thrown by routes, hooks and validators of this package, and turned
 * into the surface's fault body by its error handler (Nova's `webob.exc.HTTP*` raised inside a controller).
 *
 * Core code never throws this; it throws `ComputeError`, which {@link statusOfComputeError} maps.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError'

  /**
   * @param statusCode - the HTTP status to answer with
   * @param message - the explanation shown to the user in the fault body
   * @param headers - extra response headers (e.g. `WWW-Authenticate`, `Retry-After`)
   */
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message)
  }
}

/** A 400 Bad Request with Nova's message (`badRequest`). */
export function badRequest(message: string): HttpError {
  return new HttpError(400, message)
}

/** A 404 Not Found with Nova's message (`itemNotFound`). */
export function notFound(message = 'The resource could not be found.'): HttpError {
  return new HttpError(404, message)
}

/** A 403 Forbidden with Nova's message (`forbidden`). */
export function forbidden(message: string): HttpError {
  return new HttpError(403, message)
}

/** A 409 Conflict with Nova's message (`conflictingRequest`). */
export function conflict(message: string): HttpError {
  return new HttpError(409, message)
}
