import type { JsonSchema } from '../../common/validation.js'
import { mv, type Microversion } from '../microversion.js'
import { multi, NON_NEGATIVE_INT, type VersionedEntry } from '../params.js'

/** Nova `parameter_types` used by the server schemas (in Nova's dialect; see `toAjvSchema`). */
export const P = {
  name: { type: 'string', minLength: 1, maxLength: 255, format: 'name' },
  boolean: {
    type: ['boolean', 'string'],
    enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'],
  },
  positiveInteger: { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1, minLength: 1 },
  description: { type: ['string', 'null'], minLength: 0, maxLength: 255, pattern: '^[^\\p{C}\\p{Zl}\\p{Zp}]*$' },
  hostname: { type: 'string', minLength: 2, maxLength: 63, pattern: '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$' },
  fqdn: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' },
  metadata: {
    type: 'object',
    patternProperties: { '^[a-zA-Z0-9-_:. ]{1,255}$': { type: 'string', maxLength: 255 } },
    additionalProperties: false,
  },
  ipAddress: { type: 'string', oneOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
  accessIPv4: { type: 'string', format: 'ipv4' },
  accessIPv6: { type: 'string', format: 'ipv6' },
  diskConfig: { type: 'string', enum: ['AUTO', 'MANUAL'] },
  tag: { type: 'string', minLength: 1, maxLength: 60, pattern: '^[^,/]*$' },
  uuid: { type: 'string', format: 'uuid' },
  volumeSize: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1, maximum: 0x7fffffff },
  trustedCerts: { type: ['array', 'null'], minItems: 1, maxItems: 50, uniqueItems: true, items: { type: 'string', minLength: 1 } },
} as const satisfies Record<string, JsonSchema>

const LEGACY_BDM_PROPS: Record<string, JsonSchema> = {
  virtual_name: { type: 'string', maxLength: 255 },
  volume_id: P.uuid,
  snapshot_id: P.uuid,
  volume_size: P.volumeSize,
  device_name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._-r/]*$' },
  delete_on_termination: P.boolean,
  no_device: {},
  connection_info: { type: 'string', maxLength: 16777215 },
}

function bdmV2(withTag: boolean, withVolumeType: boolean): JsonSchema {
  return {
    type: 'object',
    properties: {
      ...LEGACY_BDM_PROPS,
      source_type: { type: 'string', enum: ['volume', 'image', 'snapshot', 'blank'] },
      uuid: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._-]*$' },
      image_id: P.uuid,
      destination_type: { type: 'string', enum: ['local', 'volume'] },
      guest_format: { type: 'string', maxLength: 255 },
      device_type: { type: 'string', maxLength: 255 },
      disk_bus: { type: 'string', maxLength: 255 },
      boot_index: { type: ['integer', 'string', 'null'], pattern: '^-?[0-9]+$' },
      ...(withTag ? { tag: P.tag } : {}),
      ...(withVolumeType ? { volume_type: { type: ['string', 'null'], minLength: 0, maxLength: 255 } } : {}),
    },
    additionalProperties: false,
  }
}

const HINTS: JsonSchema = {
  type: 'object',
  properties: {
    group: { type: 'string', format: 'uuid' },
    different_host: { oneOf: [{ type: 'string', format: 'uuid' }, { type: 'array', items: P.uuid }] },
    same_host: { type: ['string', 'array'], items: P.uuid },
    query: { type: ['string', 'object'] },
    target_cell: P.name,
    different_cell: { type: ['string', 'array'], items: { type: 'string' } },
    build_near_host_ip: P.ipAddress,
    cidr: { type: 'string', pattern: '^/[0-9a-f.:]+$' },
  },
  additionalProperties: true,
}

function networkItem(uuidFormat: boolean, withTag: boolean): JsonSchema {
  return {
    type: 'object',
    properties: {
      fixed_ip: P.ipAddress,
      port: { oneOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] },
      uuid: uuidFormat ? { type: 'string', format: 'uuid' } : { type: 'string' },
      ...(withTag ? { tag: P.tag } : {}),
    },
    additionalProperties: false,
  }
}

/** Nova's `POST /servers` schema at a microversion (`create`, `create_v219` … `create_v290`). */
export function serverCreateSchema(v: Microversion): JsonSchema {
  const props: Record<string, JsonSchema> = {
    name: P.name,
    imageRef: { oneOf: [{ type: 'string', format: 'uuid' }, { type: 'string', maxLength: 0 }] },
    flavorRef: { type: ['string', 'integer'], minLength: 1 },
    adminPass: { type: 'string' },
    metadata: P.metadata,
    'OS-DCF:diskConfig': P.diskConfig,
    accessIPv4: P.accessIPv4,
    accessIPv6: P.accessIPv6,
    availability_zone: P.name,
    block_device_mapping: { type: 'array', items: { type: 'object', properties: LEGACY_BDM_PROPS, additionalProperties: false } },
    block_device_mapping_v2: { type: 'array', items: bdmV2(v === mv('2.32') || v >= mv('2.42'), v >= mv('2.67')) },
    config_drive: P.boolean,
    key_name: P.name,
    min_count: P.positiveInteger,
    max_count: P.positiveInteger,
    return_reservation_id: P.boolean,
    security_groups: { type: 'array', items: { type: 'object', properties: { name: P.name }, additionalProperties: false } },
    user_data: { type: 'string', format: 'base64', maxLength: 65535 },
  }
  if (v < mv('2.57')) {
    props.personality = {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, contents: { type: 'string', format: 'base64' } }, additionalProperties: false },
    }
  }
  // 2.32 tagged networks and BDMs; 2.33–2.36 kept only the network tag; 2.37 dropped it; 2.42 restored both.
  const tagOnNetworks = (v >= mv('2.32') && v < mv('2.37')) || v >= mv('2.42')
  if (v >= mv('2.37')) {
    props.networks = { oneOf: [{ type: 'array', items: networkItem(true, tagOnNetworks) }, { type: 'string', enum: ['none', 'auto'] }] }
  } else {
    props.networks = { type: 'array', items: networkItem(false, tagOnNetworks) }
  }
  if (v >= mv('2.19')) props.description = P.description
  if (v >= mv('2.52')) props.tags = { type: 'array', items: P.tag, maxItems: 50 }
  if (v >= mv('2.63')) props.trusted_image_certificates = P.trustedCerts
  if (v >= mv('2.74')) {
    props.host = P.fqdn
    props.hypervisor_hostname = P.fqdn
  }
  if (v >= mv('2.90')) props.hostname = P.hostname
  return {
    type: 'object',
    properties: {
      server: { type: 'object', properties: props, required: v >= mv('2.37') ? ['name', 'flavorRef', 'networks'] : ['name', 'flavorRef'], additionalProperties: false },
      'os:scheduler_hints': HINTS,
      'OS-SCH-HNT:scheduler_hints': HINTS,
    },
    required: ['server'],
    additionalProperties: false,
  }
}

/** The microversions at which Nova's create schema changes (each starts a range). */
const CREATE_BREAKS = ['2.1', '2.19', '2.32', '2.33', '2.37', '2.42', '2.52', '2.57', '2.63', '2.67', '2.74', '2.90'] as const

/** The create schemas by microversion range. */
export function serverCreateSchemas(): VersionedEntry<JsonSchema>[] {
  return CREATE_BREAKS.map((b, i) => {
    const next = CREATE_BREAKS[i + 1]
    return { min: mv(b), ...(next ? { max: mv(next) - 1 } : {}), value: serverCreateSchema(mv(b)) }
  })
}

/** Nova's `PUT /servers/{id}` schemas by microversion range. */
export function serverUpdateSchemas(): VersionedEntry<JsonSchema>[] {
  const base = { name: P.name, 'OS-DCF:diskConfig': P.diskConfig, accessIPv4: P.accessIPv4, accessIPv6: P.accessIPv6 }
  const wrap = (props: Record<string, JsonSchema>): JsonSchema => ({
    type: 'object',
    properties: { server: { type: 'object', properties: props, additionalProperties: false } },
    required: ['server'],
    additionalProperties: false,
  })
  return [
    { min: mv('2.1'), max: mv('2.18'), value: wrap(base) },
    { min: mv('2.19'), max: mv('2.89'), value: wrap({ ...base, description: P.description }) },
    { min: mv('2.90'), value: wrap({ ...base, description: P.description, hostname: P.hostname }) },
  ]
}

/** `{"reboot": {"type": "SOFT"|"HARD"}}` (case variants allowed, as Nova). */
export const REBOOT_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    reboot: {
      type: 'object',
      properties: { type: { type: 'string', enum: ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'] } },
      required: ['type'],
      additionalProperties: false,
    },
  },
  required: ['reboot'],
  additionalProperties: false,
}

/** `{"lock": null | {"locked_reason": "…"}}` (2.73). */
export const LOCK_SCHEMA_273: JsonSchema = {
  type: 'object',
  properties: {
    lock: { type: ['object', 'null'], properties: { locked_reason: { type: 'string', minLength: 1, maxLength: 255 } }, additionalProperties: false },
  },
  required: ['lock'],
  additionalProperties: false,
}

/**
 * `{"os-getConsoleOutput": {"length": int | "digits" | null}}` (Nova `schemas/console_output.py`): at least -1,
 * numeric strings bounded too. The null-body actions (`pause`, `unpause`, `suspend`, `resume`, `os-stop`,
 * `os-start`) have no schema in Nova, so their value is not checked.
 */
export const CONSOLE_OUTPUT_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    'os-getConsoleOutput': {
      type: 'object',
      properties: { length: { type: ['integer', 'string', 'null'], pattern: '^-?[0-9]+$', minimum: -1 } },
      additionalProperties: false,
    },
  },
  required: ['os-getConsoleOutput'],
  additionalProperties: false,
}

/** `{"os-resetState": {"state": "active"|"error"}}`. */
export const RESET_STATE_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    'os-resetState': { type: 'object', properties: { state: { type: 'string', enum: ['active', 'error'] } }, required: ['state'], additionalProperties: false },
  },
  required: ['os-resetState'],
  additionalProperties: false,
}

const QUERY_PLAIN = ['user_id', 'project_id', 'tenant_id', 'launch_index', 'image_ref', 'image', 'vm_state', 'task_state', 'host', 'uuid', 'sort_dir', 'all_tenants', 'soft_deleted', 'deleted', 'status', 'marker']
const QUERY_REGEX = [
  'kernel_id', 'ramdisk_id', 'hostname', 'key_name', 'power_state', 'node', 'flavor', 'reservation_id', 'launched_at', 'terminated_at',
  'availability_zone', 'name', 'display_name', 'description', 'display_description', 'locked_by', 'root_device_name', 'config_drive',
  'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'progress', 'ip', 'ip6', 'created_at',
]
const JOINED = ['block_device_mapping', 'services', 'metadata', 'system_metadata', 'info_cache', 'security_groups', 'pci_devices']
const SORT_KEYS = [
  'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'availability_zone', 'config_drive', 'created_at', 'display_description',
  'display_name', 'host', 'hostname', 'image_ref', 'instance_type_id', 'kernel_id', 'key_name', 'launch_index', 'launched_at',
  'locked_by', 'node', 'power_state', 'progress', 'project_id', 'ramdisk_id', 'root_device_name', 'task_state', 'terminated_at',
  'updated_at', 'user_id', 'uuid', 'vm_state',
]
/** Sort keys Nova accepts but ignores (`SERVER_LIST_IGNORE_SORT_KEY`). */
export const IGNORED_SORT_KEYS = [
  'architecture', 'cell_name', 'cleaned', 'default_ephemeral_device', 'default_swap_device', 'deleted', 'deleted_at', 'disable_terminate',
  'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data', 'launched_on', 'locked', 'memory_mb', 'os_type', 'reservation_id', 'root_gb',
  'shutdown_terminate', 'user_data', 'vcpus', 'vm_mode',
]
/** Query parameters that name joined tables: a 400 "Invalid filter field" in Nova. */
export const JOINED_TABLE_PARAMS: ReadonlySet<string> = new Set(JOINED)

/** Nova's server list query properties at a microversion (`query_params_v21` … `_v275`). */
export function serverQueryProperties(v: Microversion): Record<string, JsonSchema> {
  const plain = multi({ type: 'string' })
  const regex = multi({ type: 'string', format: 'regex' })
  const props: Record<string, JsonSchema> = {}
  for (const k of QUERY_PLAIN) props[k] = plain
  for (const k of QUERY_REGEX) props[k] = regex
  for (const k of JOINED) props[k] = plain
  props['changes-since'] = multi({ type: 'string', format: 'date-time' })
  props.limit = multi(NON_NEGATIVE_INT)
  let sortKeys = [...SORT_KEYS, ...IGNORED_SORT_KEYS]
  if (v >= mv('2.26')) for (const k of ['tags', 'tags-any', 'not-tags', 'not-tags-any']) props[k] = regex
  if (v >= mv('2.66')) props['changes-before'] = multi({ type: 'string', format: 'date-time' })
  if (v >= mv('2.73')) {
    props.locked = plain
    sortKeys = ['locked', ...SORT_KEYS, ...IGNORED_SORT_KEYS.filter((k) => k !== 'locked')]
  }
  if (v >= mv('2.75')) sortKeys = ['locked', ...SORT_KEYS]
  props.sort_key = multi({ type: 'string', enum: sortKeys })
  return props
}

/** The server list query schemas by microversion range (additional parameters rejected from 2.75). */
export function serverQuerySchemas(): VersionedEntry<JsonSchema>[] {
  const schema = (v: Microversion, strict: boolean): JsonSchema => ({
    type: 'object',
    properties: serverQueryProperties(v),
    patternProperties: { '^_': multi({ type: 'string' }) },
    additionalProperties: !strict,
  })
  return [
    { min: mv('2.1'), max: mv('2.25'), value: schema(mv('2.1'), false) },
    { min: mv('2.26'), max: mv('2.65'), value: schema(mv('2.26'), false) },
    { min: mv('2.66'), max: mv('2.72'), value: schema(mv('2.66'), false) },
    { min: mv('2.73'), max: mv('2.74'), value: schema(mv('2.73'), false) },
    { min: mv('2.75'), value: schema(mv('2.75'), true) },
  ]
}

/** Filters a non-admin may use, by the microversion that opened them (Nova `_get_server_search_options`). */
export function userSearchOptions(v: Microversion): ReadonlySet<string> {
  const opts = ['reservation_id', 'name', 'status', 'image', 'flavor', 'ip', 'changes-since', 'all_tenants']
  if (v >= mv('2.5')) opts.push('ip6')
  if (v >= mv('2.26')) opts.push('tags', 'tags-any', 'not-tags', 'not-tags-any')
  if (v >= mv('2.66')) opts.push('changes-before')
  if (v >= mv('2.73')) opts.push('locked')
  if (v >= mv('2.83')) {
    opts.push('availability_zone', 'config_drive', 'key_name', 'created_at', 'launched_at', 'terminated_at', 'power_state', 'task_state', 'vm_state', 'progress', 'user_id')
  }
  if (v >= mv('2.90')) opts.push('hostname')
  return new Set(opts)
}

/** The instance action list query schemas (2.58 paging, 2.66 `changes-before`); single values only. */
export function instanceActionQuerySchemas(): VersionedEntry<JsonSchema>[] {
  const single = (s: JsonSchema): JsonSchema => ({ type: 'array', items: s, maxItems: 1 })
  const base: Record<string, JsonSchema> = {
    limit: single(NON_NEGATIVE_INT),
    marker: single({ type: 'string' }),
    'changes-since': single({ type: 'string', format: 'date-time' }),
  }
  return [
    { min: mv('2.58'), max: mv('2.65'), value: { type: 'object', properties: base, additionalProperties: false } },
    { min: mv('2.66'), value: { type: 'object', properties: { ...base, 'changes-before': single({ type: 'string', format: 'date-time' }) }, additionalProperties: false } },
  ]
}
