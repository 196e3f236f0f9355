/**
 * Placement's request schemas (`placement/schemas/*.py`, Zed), one constant per microversion step, in the dialect
 * the api-http ajv instance compiles (draft 4 keywords, `format: 'uuid'`).
 */
import type { JsonSchema } from '../common/validation.js'

/** `common.UUID_PATTERN`: 36 hex digits and dashes. */
export const UUID_PATTERN = '^[0-9a-fA-F-]{36}$'
/** `common.RC_PATTERN`: a resource class (or trait) name. */
export const RC_PATTERN = '^[A-Z0-9_]+$'
/** `common.CUSTOM_RC_PATTERN`. */
export const CUSTOM_RC_PATTERN = '^CUSTOM_[A-Z0-9_]+$'
/** `common.CONSUMER_TYPE_PATTERN`. */
const CONSUMER_TYPE_PATTERN = '^[A-Z0-9_]+$'
/** `common.CONSUMER_TYPE_GET_PATTERN`. */
const CONSUMER_TYPE_GET_PATTERN = '^[A-Z0-9_]+$|^all|^unknown$'
/** `common.GROUP_PAT` (1.25) and `GROUP_PAT_1_33`. */
export const GROUP_PAT = '[1-9][0-9]*'
/** Request group suffixes from 1.33. */
export const GROUP_PAT_1_33 = '[a-zA-Z0-9_-]{1,64}'
/** `db_const.MAX_INT`. */
export const MAX_INT = 2147483647
/** `db_const.SQL_SP_FLOAT_MAX`. */
const SQL_SP_FLOAT_MAX = 3.40282e38

const obj = (properties: Record<string, JsonSchema>, required: readonly string[] = [], extra: Record<string, unknown> = {}): JsonSchema => ({
  type: 'object',
  properties,
  ...(required.length ? { required: [...required] } : {}),
  additionalProperties: false,
  ...extra,
})

// --- resource providers ---------------------------------------------------------------------------

const RP_NAME: JsonSchema = { type: 'string', maxLength: 200 }
const PARENT: JsonSchema = { anyOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] }

/** `POST /resource_providers` before 1.14. */
export const POST_RP: JsonSchema = obj({ name: RP_NAME, uuid: { type: 'string', format: 'uuid' } }, ['name'])
/** `POST /resource_providers` from 1.14 (`parent_provider_uuid`). */
export const POST_RP_1_14: JsonSchema = obj({ name: RP_NAME, uuid: { type: 'string', format: 'uuid' }, parent_provider_uuid: PARENT }, ['name'])
/** `PUT /resource_providers/{uuid}` before 1.14. */
export const PUT_RP: JsonSchema = obj({ name: RP_NAME }, ['name'])
/** `PUT /resource_providers/{uuid}` from 1.14. */
export const PUT_RP_1_14: JsonSchema = obj({ name: RP_NAME, parent_provider_uuid: PARENT }, ['name'])

const s = { type: 'string' } as const
/** `GET /resource_providers` query, per microversion step. */
export const GET_RPS_1_0: JsonSchema = obj({ name: s, uuid: { type: 'string', format: 'uuid' } })
/** From 1.3: `member_of`. */
export const GET_RPS_1_3: JsonSchema = obj({ name: s, uuid: { type: 'string', format: 'uuid' }, member_of: s })
/** From 1.4: `resources`. */
export const GET_RPS_1_4: JsonSchema = obj({ name: s, uuid: { type: 'string', format: 'uuid' }, member_of: s, resources: s })
/** From 1.14: `in_tree`. */
export const GET_RPS_1_14: JsonSchema = obj({ name: s, uuid: { type: 'string', format: 'uuid' }, member_of: s, resources: s, in_tree: { type: 'string', format: 'uuid' } })
/** From 1.18: `required`. */
export const GET_RPS_1_18: JsonSchema = obj({ name: s, uuid: { type: 'string', format: 'uuid' }, member_of: s, resources: s, in_tree: { type: 'string', format: 'uuid' }, required: s })

// --- inventories ------------------------------------------------------------------------------------

const INT_FIELD = (min: number): JsonSchema => ({ type: 'integer', maximum: MAX_INT, minimum: min })
const INVENTORY_FIELDS: Record<string, JsonSchema> = {
  total: INT_FIELD(1),
  reserved: INT_FIELD(0),
  min_unit: INT_FIELD(1),
  max_unit: INT_FIELD(1),
  step_size: INT_FIELD(1),
  allocation_ratio: { type: 'number', maximum: SQL_SP_FLOAT_MAX },
}
/** `BASE_INVENTORY_SCHEMA`: `PUT /resource_providers/{uuid}/inventories/{rc}`. */
export const PUT_INVENTORY: JsonSchema = obj({ resource_provider_generation: { type: 'integer' }, ...INVENTORY_FIELDS }, ['total', 'resource_provider_generation'])
/** `POST /resource_providers/{uuid}/inventories`. */
export const POST_INVENTORY: JsonSchema = obj(
  { resource_provider_generation: { type: 'integer' }, ...INVENTORY_FIELDS, resource_class: { type: 'string', pattern: RC_PATTERN } },
  ['total', 'resource_class'],
)
const INVENTORY_RECORD: JsonSchema = obj({ resource_provider_generation: { type: 'integer' }, ...INVENTORY_FIELDS }, ['total'])
/** `PUT /resource_providers/{uuid}/inventories`. */
export const PUT_INVENTORIES: JsonSchema = {
  type: 'object',
  properties: {
    resource_provider_generation: { type: 'integer' },
    inventories: { type: 'object', patternProperties: { [RC_PATTERN]: INVENTORY_RECORD } },
  },
  required: ['resource_provider_generation', 'inventories'],
  additionalProperties: false,
}

// --- aggregates -------------------------------------------------------------------------------------

const AGGREGATE_LIST: JsonSchema = { type: 'array', items: { type: 'string', format: 'uuid' }, uniqueItems: true }
/** `PUT /resource_providers/{uuid}/aggregates` before 1.19: a bare list. */
export const PUT_AGGREGATES_1_1: JsonSchema = AGGREGATE_LIST
/** From 1.19: with the provider generation. */
export const PUT_AGGREGATES_1_19: JsonSchema = obj({ aggregates: AGGREGATE_LIST, resource_provider_generation: { type: 'integer' } }, ['aggregates', 'resource_provider_generation'])

// --- traits -----------------------------------------------------------------------------------------

const TRAIT: JsonSchema = { type: 'string', minLength: 1, maxLength: 255 }
/** A custom trait name (`PUT /traits/{name}`). */
export const CUSTOM_TRAIT: JsonSchema = { type: 'string', minLength: 1, maxLength: 255, pattern: CUSTOM_RC_PATTERN }
/** `PUT /resource_providers/{uuid}/traits`. */
export const SET_TRAITS_FOR_RP: JsonSchema = obj({ traits: { type: 'array', items: TRAIT }, resource_provider_generation: { type: 'integer' } }, ['traits', 'resource_provider_generation'])
/** `GET /traits` query. */
export const LIST_TRAITS_QUERY: JsonSchema = obj({ name: s, associated: s })

// --- resource classes -------------------------------------------------------------------------------

/** `POST /resource_classes` (1.2). */
export const POST_RC: JsonSchema = obj({ name: { type: 'string', pattern: CUSTOM_RC_PATTERN, maxLength: 255 } }, ['name'])

// --- usages -----------------------------------------------------------------------------------------

const ID_255: JsonSchema = { type: 'string', minLength: 1, maxLength: 255 }
/** `GET /usages` query (1.9). */
export const GET_USAGES_1_9: JsonSchema = obj({ project_id: ID_255, user_id: ID_255 }, ['project_id'])
/** From 1.38: `consumer_type`. */
export const GET_USAGES_1_38: JsonSchema = obj({ project_id: ID_255, user_id: ID_255, consumer_type: { type: 'string', pattern: CONSUMER_TYPE_GET_PATTERN, minLength: 1, maxLength: 255 } }, ['project_id'])

// --- allocations ------------------------------------------------------------------------------------

const RESOURCES: JsonSchema = { type: 'object', minProperties: 1, patternProperties: { [RC_PATTERN]: { type: 'integer', minimum: 1 } }, additionalProperties: false }
const PROJECT_OR_USER: JsonSchema = { type: 'string', minLength: 1, maxLength: 255 }

/** `PUT /allocations/{consumer}` at 1.0–1.7: the list form. */
export const ALLOCATION_1_0: JsonSchema = obj(
  {
    allocations: {
      type: 'array',
      minItems: 1,
      items: obj({ resource_provider: obj({ uuid: { type: 'string', format: 'uuid' } }, ['uuid']), resources: RESOURCES }, ['resource_provider', 'resources']),
    },
  },
  ['allocations'],
)
/** 1.8–1.11: the list form with `project_id` and `user_id`. */
export const ALLOCATION_1_8: JsonSchema = obj(
  { ...(ALLOCATION_1_0['properties'] as Record<string, JsonSchema>), project_id: PROJECT_OR_USER, user_id: PROJECT_OR_USER },
  ['allocations', 'project_id', 'user_id'],
)

const allocationsDict = (minProperties: number): JsonSchema => ({
  type: 'object',
  minProperties,
  patternProperties: { [UUID_PATTERN]: obj({ generation: { type: 'integer' }, resources: RESOURCES }, ['resources']) },
  additionalProperties: false,
})
const dictForm = (minProperties: number, extra: Record<string, JsonSchema> = {}, required: readonly string[] = []): JsonSchema =>
  obj({ allocations: allocationsDict(minProperties), project_id: PROJECT_OR_USER, user_id: PROJECT_OR_USER, ...extra }, ['allocations', 'project_id', 'user_id', ...required])

const CONSUMER_GENERATION: JsonSchema = { type: ['integer', 'null'] }
const MAPPINGS: JsonSchema = {
  type: 'object',
  minProperties: 1,
  patternProperties: { [GROUP_PAT_1_33]: { type: 'array', minItems: 1, items: { type: 'string', format: 'uuid' } } },
}
const CONSUMER_TYPE: JsonSchema = { type: 'string', pattern: CONSUMER_TYPE_PATTERN, minLength: 1, maxLength: 255 }

/** 1.12–1.27: the dict form (`ALLOCATION_SCHEMA_V1_12`). */
export const ALLOCATION_1_12: JsonSchema = dictForm(1)
/** 1.28–1.33: empty allocations allowed, `consumer_generation` required. */
export const ALLOCATION_1_28: JsonSchema = dictForm(0, { consumer_generation: CONSUMER_GENERATION }, ['consumer_generation'])
/** 1.34–1.37: `mappings` accepted (and ignored). */
export const ALLOCATION_1_34: JsonSchema = dictForm(0, { consumer_generation: CONSUMER_GENERATION, mappings: MAPPINGS }, ['consumer_generation'])
/** 1.38+: `consumer_type` required. */
export const ALLOCATION_1_38: JsonSchema = dictForm(0, { consumer_generation: CONSUMER_GENERATION, mappings: MAPPINGS, consumer_type: CONSUMER_TYPE }, ['consumer_generation', 'consumer_type'])

const postAllocations = (perConsumer: JsonSchema): JsonSchema => ({
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  patternProperties: { [UUID_PATTERN]: perConsumer },
})
/** `POST /allocations` 1.13–1.27. */
export const POST_ALLOCATIONS_1_13: JsonSchema = postAllocations(dictForm(0))
/** `POST /allocations` 1.28–1.33. */
export const POST_ALLOCATIONS_1_28: JsonSchema = postAllocations(ALLOCATION_1_28)
/** `POST /allocations` 1.34–1.37. */
export const POST_ALLOCATIONS_1_34: JsonSchema = postAllocations(ALLOCATION_1_34)
/** `POST /allocations` from 1.38. */
export const POST_ALLOCATIONS_1_38: JsonSchema = postAllocations(ALLOCATION_1_38)

// --- allocation candidates --------------------------------------------------------------------------

const LIMIT: JsonSchema = { type: ['integer', 'string'], pattern: '^[1-9][0-9]*$', minimum: 1, minLength: 1 }
/** `GET /allocation_candidates` 1.10–1.15. */
export const GET_AC_1_10: JsonSchema = obj({ resources: s }, ['resources'])
/** 1.16: `limit`. */
export const GET_AC_1_16: JsonSchema = obj({ resources: s, limit: LIMIT }, ['resources'])
/** 1.17: `required`. */
export const GET_AC_1_17: JsonSchema = obj({ resources: s, limit: LIMIT, required: s }, ['resources'])
/** 1.21: `member_of`. */
export const GET_AC_1_21: JsonSchema = obj({ resources: s, limit: LIMIT, required: s, member_of: s }, ['resources'])

const groupKeys = (pattern: string, keys: readonly string[]): Record<string, JsonSchema> =>
  Object.fromEntries(keys.map((k) => [`^${k}(${pattern})?$`, s]))
const granular = (pattern: string, keys: readonly string[], extra: Record<string, JsonSchema> = {}): JsonSchema =>
  obj({ limit: LIMIT, group_policy: { type: 'string', enum: ['none', 'isolate'] }, ...extra }, [], { patternProperties: groupKeys(pattern, keys) })

/** 1.25: granular groups `resourcesN`, `requiredN`, `member_ofN`, `group_policy`. */
export const GET_AC_1_25: JsonSchema = granular(GROUP_PAT, ['resources', 'required', 'member_of'])
/** 1.31: `in_treeN`. */
export const GET_AC_1_31: JsonSchema = granular(GROUP_PAT, ['resources', 'required', 'member_of', 'in_tree'])
/** 1.33: any suffix `[a-zA-Z0-9_-]{1,64}`. */
export const GET_AC_1_33: JsonSchema = granular(GROUP_PAT_1_33, ['resources', 'required', 'member_of', 'in_tree'])
/** 1.35: `root_required`. */
export const GET_AC_1_35: JsonSchema = granular(GROUP_PAT_1_33, ['resources', 'required', 'member_of', 'in_tree'], { root_required: s })
/** 1.36: `same_subtree`. */
export const GET_AC_1_36: JsonSchema = granular(GROUP_PAT_1_33, ['resources', 'required', 'member_of', 'in_tree'], { root_required: s, same_subtree: s })
