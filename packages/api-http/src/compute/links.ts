import type { FastifyRequest } from 'fastify'
import { baseUrl, urlJoin } from '../common/base-url.js'

/**
 * Builds Nova's resource links for the request being served: `self` (`<base>/v2.1[/<project>]/<collection>/<id>`),
 * `bookmark` (the same without the version) and collection `next` links. The project segment appears only when the
 * client used the `/v2.1/{project_id}/…` form (Nova `ViewBuilder._get_project_id`).
 */
export class ComputeLinks {
  /** @param publicUrl - Nova `[api] compute_link_prefix`: the endpoint's public root, e.g. `https://cloud/compute` */
  constructor(private readonly publicUrl?: string) {}

  /** The endpoint root as the client reached it (no version, no trailing slash). */
  root(request: FastifyRequest): string {
    return baseUrl(request, this.publicUrl)
  }

  private project(request: FastifyRequest): string {
    const p = (request.params as { project_id?: string } | undefined)?.project_id
    return p ?? ''
  }

  /** `<base>/v2.1[/<project>]/<collection>/<id>`. */
  self(request: FastifyRequest, collection: string, id: string): string {
    return urlJoin(this.root(request), 'v2.1', this.project(request), collection, id)
  }

  /** `<base>[/<project>]/<collection>/<id>`. */
  bookmark(request: FastifyRequest, collection: string, id: string): string {
    return urlJoin(this.root(request), this.project(request), collection, id)
  }

  /** The `[self, bookmark]` pair of a resource. */
  pair(request: FastifyRequest, collection: string, id: string): { rel: string; href: string }[] {
    return [
      { rel: 'self', href: this.self(request, collection, id) },
      { rel: 'bookmark', href: this.bookmark(request, collection, id) },
    ]
  }

  /**
   * The `next` link of a page (Nova `_get_next_link`): the request's query parameters sorted by name (the last
   * value of a repeated one wins), with `marker` replaced.
   */
  next(request: FastifyRequest, collection: string, marker: string): string {
    const query = (request.query ?? {}) as Record<string, unknown>
    const params = new Map<string, string>()
    for (const key of Object.keys(query).sort()) {
      const v = query[key]
      params.set(key, String(Array.isArray(v) ? v[v.length - 1] : v))
    }
    params.set('marker', marker)
    const qs = new URLSearchParams([...params]).toString()
    return `${urlJoin(this.root(request), 'v2.1', this.project(request), collection)}?${qs}`
  }

  /**
   * The `<collection>_links` array of a page: a `next` link when the page is full (Nova `_get_collection_links`),
   * else empty.
   */
  collection(request: FastifyRequest, collection: string, items: readonly { readonly id: string }[], limit: number): { rel: string; href: string }[] {
    const last = items[items.length - 1]
    if (limit > 0 && items.length === limit && last) return [{ rel: 'next', href: this.next(request, collection, last.id) }]
    return []
  }
}
