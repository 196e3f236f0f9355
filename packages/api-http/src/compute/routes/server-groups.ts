import type { ServerGroup, ServerGroupPolicy, ServerGroupService } from '@novum/core'
import { contextOf } from '../../common/auth.js'
import type { JsonSchema } from '../../common/validation.js'
import type { ComputeRoutesFactory } from '../compute-app.js'
import { mv, type Microversion } from '../microversion.js'
import { intParam, lastParam, multi, NON_NEGATIVE_INT, versionedBody, versionedQuery } from '../params.js'

const V2_13 = mv('2.13')
const V2_15 = mv('2.15')
const V2_64 = mv('2.64')
const V2_75 = mv('2.75')

const NAME: JsonSchema = { type: 'string', minLength: 1, maxLength: 255, format: 'name' }
/** Nova `parameter_types.positive_integer`. */
const POSITIVE_INT: JsonSchema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1, minLength: 1 }

function createSchema(props: Readonly<Record<string, JsonSchema>>, required: readonly string[]): JsonSchema {
  return {
    type: 'object',
    properties: { server_group: { type: 'object', properties: props, required, additionalProperties: false } },
    required: ['server_group'],
    additionalProperties: false,
  }
}

const policies = (names: readonly string[]): JsonSchema => ({
  type: 'array',
  items: [{ type: 'string', enum: names }],
  uniqueItems: true,
  minItems: 1,
  maxItems: 1,
  additionalItems: false,
})

const HARD = ['anti-affinity', 'affinity']
const ALL = [...HARD, 'soft-anti-affinity', 'soft-affinity']
/** Nova `schemas/server_groups.py` `create`, `create_v215`, `create_v264`. */
const CREATE_21 = createSchema({ name: NAME, policies: policies(HARD) }, ['name', 'policies'])
const CREATE_215 = createSchema({ name: NAME, policies: policies(ALL) }, ['name', 'policies'])
const CREATE_264 = createSchema(
  { name: NAME, policy: { type: 'string', enum: ALL }, rules: { type: 'object', properties: { max_server_per_host: POSITIVE_INT }, additionalProperties: false } },
  ['name', 'policy'],
)

const QUERY_PROPS = { all_projects: multi({ type: 'string' }), limit: multi(NON_NEGATIVE_INT), offset: multi(NON_NEGATIVE_INT) }

/** What the server group routes call. */
export interface ServerGroupRouteServices {
  readonly serverGroups: ServerGroupService
}

/** Nova `_format_server_group`: `policy`/`rules` from 2.64 (else `policies` and an empty `metadata`), owners from 2.13. */
export function serverGroupView(group: ServerGroup, version: Microversion): Record<string, unknown> {
  return {
    id: group.uuid,
    name: group.name,
    ...(version >= V2_64 ? { policy: group.policy, rules: group.rules } : { policies: [group.policy], metadata: {} }),
    members: group.members,
    ...(version >= V2_13 ? { project_id: group.projectId, user_id: group.userId } : {}),
  }
}

/**
 * Server groups (`server_groups.py`): create (200; `policies` before 2.64, `policy` + `rules` from 2.64, soft
 * policies from 2.15), list (`all_projects` for admins, `limit`/`offset`), show (with live members), delete (204).
 */
export function serverGroupRoutes(services: ServerGroupRouteServices): ComputeRoutesFactory {
  return ({ schemas }) => {
    const validateCreate = versionedBody(schemas, [
      { min: mv('2.1'), max: mv('2.14'), value: CREATE_21 },
      { min: V2_15, max: mv('2.63'), value: CREATE_215 },
      { min: V2_64, value: CREATE_264 },
    ])
    const listQuery = versionedQuery(schemas, [
      { min: mv('2.1'), max: mv('2.74'), value: { type: 'object', properties: QUERY_PROPS, additionalProperties: true } },
      { min: V2_75, value: { type: 'object', properties: QUERY_PROPS, additionalProperties: false } },
    ])
    const { serverGroups } = services
    return {
      name: 'server-groups',
      register(app) {
        app.post('/os-server-groups', async (request) => {
          const version = request.microversion
          validateCreate(version, request.body)
          const body = (request.body as { server_group: { name: string; policies?: string[]; policy?: string; rules?: { max_server_per_host?: number | string } } }).server_group
          const policy = (version >= V2_64 ? body.policy : body.policies?.[0]) as ServerGroupPolicy
          const max = body.rules?.max_server_per_host
          const group = await serverGroups.create(contextOf(request), {
            name: body.name,
            policy,
            ...(body.rules ? { rules: max === undefined ? {} : { max_server_per_host: Number(max) } } : {}),
          })
          return { server_group: serverGroupView(group, version) }
        })
        app.get('/os-server-groups', async (request) => {
          const version = request.microversion
          const q = listQuery(version, request.query)
          const limit = intParam(lastParam(q, 'limit'))
          const offset = intParam(lastParam(q, 'offset'))
          const groups = await serverGroups.list(contextOf(request), {
            ...('all_projects' in q ? { allProjects: true } : {}),
            ...(limit !== undefined ? { limit } : {}),
            ...(offset !== undefined ? { offset } : {}),
          })
          return { server_groups: groups.map((g) => serverGroupView(g, version)) }
        })
        app.get('/os-server-groups/:group_id', async (request) => {
          const { group_id } = request.params as { group_id: string }
          return { server_group: serverGroupView(await serverGroups.get(contextOf(request), group_id), request.microversion) }
        })
        app.delete('/os-server-groups/:group_id', async (request, reply) => {
          const { group_id } = request.params as { group_id: string }
          await serverGroups.delete(contextOf(request), group_id)
          return reply.code(204).send()
        })
      },
    }
  }
}
