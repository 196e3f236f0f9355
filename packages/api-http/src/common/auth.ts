import type { FastifyReply, FastifyRequest } from 'fastify'
import { ComputeError, type RequestContext } from '@novum/core'
import { HttpError } from './http-error.js'
import type { TokenCache } from './token-cache.js'

/**
 * What the auth hook needs from the identity service (core's `IdentityService` fits as is): a token in, the
 * caller's context and the token's expiry out.
 */
export interface TokenValidator {
  /**
   * The context of a valid token. An unknown, expired or revoked token is `ComputeError('UNAUTHORIZED')` (or
   * `NOT_FOUND`); both become a 401.
   */
  validateToken(token: string, requestId?: string): Promise<{ readonly context: RequestContext; readonly expiresAt?: string | null }>
}

/** keystonemiddleware's 401 explanation. */
export const AUTH_REQUIRED_MESSAGE = 'The request you have made requires authentication.'

/** Options of {@link createAuthHook}. */
export interface AuthHookOptions {
  readonly validator: TokenValidator
  readonly cache: TokenCache
  /**
   * The public identity URL for `WWW-Authenticate: Keystone uri="…"` (keystonemiddleware `www_authenticate_uri`),
   * or a function deriving it from the request.
   */
  readonly identityUri: string | ((request: FastifyRequest) => string)
}

/**
 * An `onRequest` hook that requires a valid `X-Auth-Token` (keystonemiddleware `auth_token`): the caller's
 * {@link RequestContext} lands in `request.authContext`, with the request's own id as `requestId` so core logs and
 * notifications carry the id the client sees. Missing or invalid tokens are a 401 with `WWW-Authenticate`.
 */
export function createAuthHook(options: AuthHookOptions): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const uri = options.identityUri
  const unauthorized = (request: FastifyRequest): HttpError =>
    new HttpError(401, AUTH_REQUIRED_MESSAGE, { 'WWW-Authenticate': `Keystone uri="${typeof uri === 'string' ? uri : uri(request)}"` })
  return async (request) => {
    const header = request.headers['x-auth-token']
    const token = Array.isArray(header) ? header[0] : header
    if (!token) throw unauthorized(request)
    let context = options.cache.get(token)
    if (context === undefined) {
      try {
        const validated = await options.validator.validateToken(token, request.id)
        context = validated.context
        options.cache.set(token, context, validated.expiresAt)
      } catch (err) {
        if (ComputeError.is(err, 'UNAUTHORIZED') || ComputeError.is(err, 'NOT_FOUND') || ComputeError.is(err, 'FORBIDDEN')) throw unauthorized(request)
        throw err
      }
    }
    request.authContext = { ...context, requestId: request.id }
  }
}

/** The caller's context on an authenticated route (a bug if the auth hook did not run). */
export function contextOf(request: FastifyRequest): RequestContext {
  const ctx = request.authContext
  if (!ctx) throw new ComputeError('INTERNAL', `route ${request.url} ran without the auth hook`)
  return ctx
}
