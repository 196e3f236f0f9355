import type { FastifyRequest } from 'fastify'
import type { Keypair, KeypairService } from '@novum/core'
import { contextOf } from '../../common/auth.js'
import type { JsonSchema } from '../../common/validation.js'
import type { ComputeRoutesFactory } from '../compute-app.js'
import { mv } from '../microversion.js'
import { strtime } from '../views/time.js'
import { intParam, lastParam, multi, NON_NEGATIVE_INT, queryValidator, versionedBody } from '../params.js'

const V2_2 = mv('2.2')
const V2_10 = mv('2.10')
const V2_35 = mv('2.35')
const V2_92 = mv('2.92')

const NAME: JsonSchema = { type: 'string', minLength: 1, maxLength: 255, format: 'name' }
const KEYPAIR_NAME_20: JsonSchema = { allOf: [NAME, { type: 'string', minLength: 1, maxLength: 255, format: 'keypair_name_20' }] }
const KEYPAIR_NAME_292: JsonSchema = { allOf: [NAME, { type: 'string', minLength: 1, maxLength: 255, format: 'keypair_name_292' }] }

function createSchema(props: Readonly<Record<string, JsonSchema>>, required: readonly string[] = ['name']): JsonSchema {
  return {
    type: 'object',
    properties: { keypair: { type: 'object', properties: props, required, additionalProperties: false } },
    required: ['keypair'],
    additionalProperties: false,
  }
}

const TYPE: JsonSchema = { type: 'string', enum: ['ssh', 'x509'] }
const CREATE_21 = createSchema({ name: KEYPAIR_NAME_20, public_key: { type: 'string' } })
const CREATE_22 = createSchema({ name: KEYPAIR_NAME_20, type: TYPE, public_key: { type: 'string' } })
const CREATE_210 = createSchema({ name: KEYPAIR_NAME_20, type: TYPE, public_key: { type: 'string' }, user_id: { type: 'string' } })
const CREATE_292 = createSchema({ name: KEYPAIR_NAME_292, type: TYPE, public_key: { type: 'string' }, user_id: { type: 'string' } }, ['name', 'public_key'])

/** What the keypair routes call. */
export interface KeypairRouteServices {
  readonly keypairs: KeypairService
}

/** The `GET /os-keypairs` entry: name, public_key, fingerprint, and `type` from 2.2. */
export function keypairIndexView(k: Keypair, version: number): Record<string, unknown> {
  return { name: k.name, public_key: k.publicKey, fingerprint: k.fingerprint, ...(version >= V2_2 ? { type: k.type } : {}) }
}

/** The `GET /os-keypairs/{name}` body: the index fields plus user_id, created_at, deleted, id. */
export function keypairShowView(k: Keypair, version: number): Record<string, unknown> {
  return {
    name: k.name,
    public_key: k.publicKey,
    fingerprint: k.fingerprint,
    user_id: k.userId,
    created_at: strtime(k.createdAt),
    deleted: false,
    deleted_at: null,
    id: k.id,
    updated_at: null,
    ...(version >= V2_2 ? { type: k.type } : {}),
  }
}

/**
 * Keypairs (`keypairs.py`): create/import (200 at 2.1, 201 from 2.2; `private_key` only when generated, up to
 * 2.91), list (2.35 paging), show, delete (202 at 2.1, 204 from 2.2); `user_id` for admins from 2.10.
 */
export function keypairRoutes(services: KeypairRouteServices): ComputeRoutesFactory {
  return ({ schemas, links, maxLimit }) => {
    const validateCreate = versionedBody(schemas, [
      { min: mv('2.1'), max: mv('2.1'), value: CREATE_21 },
      { min: V2_2, max: mv('2.9'), value: CREATE_22 },
      { min: V2_10, max: mv('2.91'), value: CREATE_210 },
      { min: V2_92, value: CREATE_292 },
    ])
    const userQuery = { user_id: multi({ type: 'string' }) }
    const listQuery = queryValidator(schemas, { ...userQuery, limit: multi(NON_NEGATIVE_INT), marker: multi({ type: 'string' }) })
    const itemQuery = queryValidator(schemas, userQuery)
    const { keypairs } = services

    /** The `user_id` query parameter: honoured from 2.10 (the first value, as Nova's `getall()[0]`). */
    const userIdOf = (request: FastifyRequest, q: Record<string, string[]>): string | undefined =>
      request.microversion >= V2_10 ? q.user_id?.[0] : undefined

    return {
      name: 'keypairs',
      register(app) {
        app.post('/os-keypairs', async (request, reply) => {
          const version = request.microversion
          validateCreate(version, request.body)
          const p = (request.body as { keypair: { name: string; public_key?: string; type?: 'ssh' | 'x509'; user_id?: string } }).keypair
          const created = await keypairs.create(contextOf(request), {
            name: p.name,
            ...(p.public_key !== undefined ? { publicKey: p.public_key } : {}),
            ...(version >= V2_2 && p.type !== undefined ? { type: p.type } : {}),
            ...(version >= V2_10 && p.user_id !== undefined ? { userId: p.user_id } : {}),
            ...(version >= V2_92 ? { allowExtendedNameChars: true } : {}),
          })
          const body: Record<string, unknown> = {}
          if (created.privateKey !== null) body.private_key = created.privateKey
          if (version >= V2_2) body.type = created.type
          Object.assign(body, { name: created.name, public_key: created.publicKey, fingerprint: created.fingerprint, user_id: created.userId })
          return reply.code(version >= V2_2 ? 201 : 200).send({ keypair: body })
        })
        app.get('/os-keypairs', async (request) => {
          const version = request.microversion
          const q = listQuery(version, request.query)
          const userId = userIdOf(request, q)
          const paged = version >= V2_35
          const limitParam = paged ? intParam(lastParam(q, 'limit')) : undefined
          const limit = Math.min(maxLimit, limitParam ?? maxLimit)
          const marker = paged ? lastParam(q, 'marker') : undefined
          const list = await keypairs.list(contextOf(request), {
            ...(userId !== undefined ? { userId } : {}),
            ...(paged ? { limit } : {}),
            ...(marker !== undefined ? { marker } : {}),
          })
          const body: Record<string, unknown> = { keypairs: list.map((k) => ({ keypair: keypairIndexView(k, version) })) }
          if (paged) {
            const next = links.collection(request, 'os-keypairs', list.map((k) => ({ id: k.name })), limit)
            if (next.length) body.keypairs_links = next
          }
          return body
        })
        app.get('/os-keypairs/:name', async (request) => {
          const q = itemQuery(request.microversion, request.query)
          const { name } = request.params as { name: string }
          const k = await keypairs.get(contextOf(request), name, userIdOf(request, q))
          return { keypair: keypairShowView(k, request.microversion) }
        })
        app.delete('/os-keypairs/:name', async (request, reply) => {
          const q = itemQuery(request.microversion, request.query)
          const { name } = request.params as { name: string }
          await keypairs.delete(contextOf(request), name, userIdOf(request, q))
          return reply.code(request.microversion >= V2_2 ? 204 : 202).send()
        })
      },
    }
  }
}
