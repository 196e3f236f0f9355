import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { createApiTestEnv, type ApiTestEnv } from '../api-test-env.test-helper.js'

/** A Placement request for {@link PlacementTestEnv.call}. */
export interface PlacementCall {
  readonly method?: InjectOptions['method']
  readonly url: string
  /** The microversion (`placement <version>`); none sends no header (1.0). */
  readonly version?: string
  /** A JSON body (sent as application/json). */
  readonly body?: unknown
  /** @default the admin token; `null` sends none */
  readonly token?: string | null
  readonly headers?: Record<string, string>
}

/** The API test environment with a Placement caller. */
export interface PlacementTestEnv extends ApiTestEnv {
  /** `placement.inject` as the admin (or the given token). */
  call(options: PlacementCall): Promise<LightMyRequestResponse>
  /** Creates a provider at 1.20 and returns its uuid. */
  provider(name: string, options?: { parent?: string; inventories?: Record<string, Record<string, number>>; traits?: string[]; aggregates?: string[] }): Promise<string>
}

let counter = 0

/** A deterministic, unique uuid for a test fixture. */
export function testUuid(): string {
  counter++
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`
}

/** The API test environment (real core services on in-memory SQLite) with helpers for Placement. */
export async function createPlacementTestEnv(): Promise<PlacementTestEnv> {
  const env = await createApiTestEnv()
  const call = ({ method = 'GET', url, version, body, token, headers }: PlacementCall): Promise<LightMyRequestResponse> =>
    env.servers.placement.inject({
      method,
      url,
      headers: {
        ...(token === null ? {} : { 'x-auth-token': token ?? env.admin.token }),
        ...(version ? { 'openstack-api-version': `placement ${version}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    })
  const provider: PlacementTestEnv['provider'] = async (name, options = {}) => {
    const created = await call({ method: 'POST', url: '/resource_providers', version: '1.20', body: { name, ...(options.parent ? { parent_provider_uuid: options.parent } : {}) } })
    if (created.statusCode !== 200) throw new Error(`creating provider ${name}: ${created.statusCode} ${created.body}`)
    const rp = created.json<{ uuid: string; generation: number }>()
    let generation = rp.generation
    if (options.inventories) {
      const res = await call({ method: 'PUT', url: `/resource_providers/${rp.uuid}/inventories`, version: '1.20', body: { resource_provider_generation: generation, inventories: options.inventories } })
      if (res.statusCode !== 200) throw new Error(`setting inventories of ${name}: ${res.body}`)
      generation = res.json<{ resource_provider_generation: number }>().resource_provider_generation
    }
    if (options.traits) {
      const res = await call({ method: 'PUT', url: `/resource_providers/${rp.uuid}/traits`, version: '1.20', body: { resource_provider_generation: generation, traits: options.traits } })
      if (res.statusCode !== 200) throw new Error(`setting traits of ${name}: ${res.body}`)
      generation = res.json<{ resource_provider_generation: number }>().resource_provider_generation
    }
    if (options.aggregates) {
      const res = await call({ method: 'PUT', url: `/resource_providers/${rp.uuid}/aggregates`, version: '1.20', body: { resource_provider_generation: generation, aggregates: options.aggregates } })
      if (res.statusCode !== 200) throw new Error(`setting aggregates of ${name}: ${res.body}`)
    }
    return rp.uuid
  }
  return Object.assign(env, { call, provider })
}

/** An entry of Placement's `errors` list. */
export interface PlacementErrorEntry {
  status: number
  detail: string
  code?: string
}

/**
 * `GET /allocation_candidates?<query>` helpers for `env`: `get` expects a 200 and returns the answer as `T`, `error`
 * expects a 4xx (exactly `status` when given) and returns the first error entry.
 */
export function candidatesCalls<T>(env: () => PlacementTestEnv, status?: number): {
  get(query: string, version?: string): Promise<T>
  error(query: string, version?: string): Promise<PlacementErrorEntry>
} {
  return {
    async get(query, version = '1.39') {
      const res = await env().call({ url: `/allocation_candidates?${query}`, version })
      if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`)
      return res.json<T>()
    },
    async error(query, version = '1.39') {
      const res = await env().call({ url: `/allocation_candidates?${query}`, version })
      if (status !== undefined ? res.statusCode !== status : res.statusCode < 400 || res.statusCode > 499) throw new Error(`expected ${status ?? 'a 4xx'}, got ${res.statusCode}: ${res.body}`)
      return res.json<{ errors: PlacementErrorEntry[] }>().errors[0] as PlacementErrorEntry
    },
  }
}
