import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpError } from './http-error.js'

/** Options for {@link installJsonBodyParser}. */
export interface JsonBodyParserOptions {
  /** Media types parsed as JSON besides `application/json` (e.g. `application/vnd.openstack.compute+json`). */
  readonly extraJsonTypes?: readonly string[]
  /**
   * Parse a body sent without a Content-Type, or as `text/plain`, as JSON (Nova does: eventlet defaults to
   * text/plain). When false, such bodies are a 415.
   * @default true
   */
  readonly lenientContentType?: boolean
}

/**
 * Replaces fastify's JSON parser so that a malformed body is a 400 whose message names the problem
 * (`Malformed request body: Unexpected token } in JSON at position 12`), a zero-length body is "no body" (Nova passes
 * `body=None` to the controller, which its schema then rejects with a field name), and any other media type is a
 * 415 `Unsupported Content-Type`.
 */
export function installJsonBodyParser(app: FastifyInstance, options: JsonBodyParserOptions = {}): void {
  const lenient = options.lenientContentType ?? true
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser(['application/json', ...(options.extraJsonTypes ?? [])], { parseAs: 'string' }, parseJson)
  app.addContentTypeParser('*', { parseAs: 'string' }, (request: FastifyRequest, body: string | Buffer) => {
    const ct = request.headers['content-type']
    if (lenient && (ct === undefined || ct === '' || /^text\/plain\b/i.test(ct))) return parseJson(request, body)
    throw new HttpError(415, 'Unsupported Content-Type')
  })
}

async function parseJson(_request: FastifyRequest, body: string | Buffer): Promise<unknown> {
  const text = typeof body === 'string' ? body : body.toString('utf8')
  // Nova passes `body=None` only for a zero-length body; whitespace is handed to the JSON parser (and fails).
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new HttpError(400, `Malformed request body: ${(err as Error).message}`)
  }
}
