import type { ValidateFunction } from 'ajv'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger, RequestContext } from '@novum/core'
import { resolveError, type ResolvedError } from './error-status.js'
import { installJsonBodyParser, type JsonBodyParserOptions } from './json-body.js'
import { generateRequestId, REQUEST_ID_HEADER } from './request-id.js'
import { createAjv, novaValidationMessage, toAjvSchema } from './validation.js'
import { HttpError } from './http-error.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, set by the auth hook from the `X-Auth-Token` (null on unauthenticated routes). */
    authContext: RequestContext | null
    /** The negotiated compute microversion (`major * 1000 + minor`); 0 outside the compute API. */
    microversion: number
  }
}

/** Logging options shared by every surface. */
export interface LoggingOptions {
  /**
   * The pino logger (or core's {@link Logger}, which a pino logger satisfies) that request loggers are children
   * of. Each request's child carries `req_id` = the `x-openstack-request-id`. Omit for no logging.
   */
  readonly logger?: FastifyBaseLogger | Logger
  /** Log one "incoming request" and one "request completed" line per request. @default true when a logger is given */
  readonly requestLogging?: boolean
}

/** Options of {@link createBaseApp}. */
export interface BaseAppOptions extends LoggingOptions, JsonBodyParserOptions {
  /** Largest request body in bytes (oslo `max_request_body_size`). @default 114688 */
  readonly bodyLimit?: number
  /** Headers that repeat the request id besides `x-openstack-request-id` (Nova adds `x-compute-request-id`). */
  readonly extraRequestIdHeaders?: readonly string[]
  /** Builds the surface's error body (Nova fault, Keystone error, webob JSON) for a resolved error. */
  readonly errorBody: (error: ResolvedError) => unknown
  /** Answers requests no route matched; a 404 in the surface's error body by default. */
  readonly notFound?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | Promise<FastifyReply>
}

/**
 * fastify wants a pino-shaped logger (`fatal`, `silent`, `level`); core's {@link Logger} is a subset. A pino logger
 * passes through unchanged; anything else is wrapped (`fatal` goes to `error`).
 */
export function toFastifyLogger(logger: FastifyBaseLogger | Logger): FastifyBaseLogger {
  const l = logger as Partial<FastifyBaseLogger>
  if (typeof l.fatal === 'function' && typeof l.silent === 'function' && typeof l.level === 'string') return logger as FastifyBaseLogger
  const core = logger as Logger
  const noop = (): void => {}
  return {
    level: 'info',
    trace: core.trace.bind(core),
    debug: core.debug.bind(core),
    info: core.info.bind(core),
    warn: core.warn.bind(core),
    error: core.error.bind(core),
    fatal: core.error.bind(core),
    silent: noop,
    child: (bindings: Record<string, unknown>) => toFastifyLogger(core.child(bindings)),
  } as unknown as FastifyBaseLogger
}

/** A fault that cannot be produced by the handler, for error paths that bypass it. */
function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown, errorBody: (error: ResolvedError) => unknown): FastifyReply {
  const resolved = resolveError(err)
  if (resolved.unexpected) request.log.error({ err }, 'unexpected API error')
  else request.log.info({ status: resolved.statusCode, reason: resolved.message }, 'request failed')
  if (resolved.headers) reply.headers(resolved.headers)
  return reply.code(resolved.statusCode).type('application/json; charset=UTF-8').send(errorBody(resolved))
}

/**
 * A fastify instance with what every OpenStack surface shares: `req-<uuid>` request ids echoed in
 * `x-openstack-request-id` (and the surface's legacy header) on every response and bound to the request logger,
 * Nova-style JSON body parsing (malformed → 400 naming the problem, unknown media type → 415), schema errors
 * worded like Nova's, and one error handler that turns anything thrown into the surface's error body —
 * never a 500 for bad input.
 */
export function createBaseApp(options: BaseAppOptions): FastifyInstance {
  const logging = options.logger !== undefined
  const app = Fastify({
    ...(options.logger !== undefined ? { loggerInstance: toFastifyLogger(options.logger) } : { logger: false }),
    logController: new LogController({ requestIdLogLabel: 'req_id', disableRequestLogging: !logging || options.requestLogging === false }),
    genReqId: generateRequestId,
    requestIdHeader: false,
    bodyLimit: options.bodyLimit ?? 114_688,
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: true, maxParamLength: 1024 },
    schemaErrorFormatter: (errors, dataVar) => new HttpError(400, novaValidationMessage(errors, dataVar === 'querystring' ? 'query' : 'body')),
    return503OnClosing: true,
  }) as unknown as FastifyInstance

  const ajv = createAjv()
  // Compiled on first use, like SchemaCompiler's validators, to keep start-up short.
  app.setValidatorCompiler(({ schema }) => {
    let fn: ValidateFunction | undefined
    const validate = (data: unknown): boolean => {
      fn ??= ajv.compile(toAjvSchema(schema) as object)
      const ok = fn(data)
      validate.errors = fn.errors
      return ok
    }
    validate.errors = null as ValidateFunction['errors']
    return validate
  })

  app.decorateRequest('authContext', null)
  app.decorateRequest('microversion', 0)

  const idHeaders = [REQUEST_ID_HEADER, ...(options.extraRequestIdHeaders ?? [])]
  app.addHook('onRequest', (request, reply, done) => {
    for (const h of idHeaders) reply.header(h, request.id)
    done()
  })

  installJsonBodyParser(app, options)
  const errorBody = options.errorBody
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err, errorBody))
  app.setNotFoundHandler(options.notFound ?? ((request, reply) => sendError(request, reply, new HttpError(404, 'The resource could not be found.'), errorBody)))
  return app
}
