import type { FastifyRequest } from 'fastify'

/**
 * The URL a client used to reach this app (`http://host:8774`), or the configured public prefix (Nova
 * `[api]compute_link_prefix`, Glance `public_endpoint`) when one is set. Never ends with `/`.
 */
export function baseUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '')
  const forwardedProto = request.headers['x-forwarded-proto']
  const proto = typeof forwardedProto === 'string' ? forwardedProto : request.protocol
  return `${proto}://${request.host}`
}

/** Nova's `url_join`: strips `/` around each non-empty part and joins with `/`; an empty last part adds a trailing `/`. */
export function urlJoin(...parts: string[]): string {
  const clean = parts.filter((p) => p).map((p) => p.replace(/^\/+|\/+$/g, ''))
  if (!parts[parts.length - 1]) clean.push('')
  return clean.join('/')
}
