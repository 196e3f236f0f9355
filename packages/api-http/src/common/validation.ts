import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { HttpError } from './http-error.js'

// NOTE: ajv-formats is CommonJS; under NodeNext its default import is the module object in some toolchains.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv, formats?: string[]) => Ajv

/** A JSON schema written in Nova's dialect (draft 4 keywords; `minimum`/`maximum` also apply to numeric strings). */
export type JsonSchema = Readonly<Record<string, unknown>>

/**
 * A compiled validator: returns nothing on success and throws a 400 {@link HttpError} whose message is Nova's
 * (`Invalid input for field/attribute name. Value: …. '…' is too long`).
 */
export type Validator = (value: unknown) => void

const UUID_RE = /^(?:urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i
/** Printable per Nova's `_is_printable`: not a control/format/unassigned char and not a line/paragraph separator. */
const PRINTABLE_RE = /^[^\p{C}\p{Zl}\p{Zp}]*$/u
const EDGE_WS_RE = /^[\p{C}\p{Z}]|[\p{C}\p{Z}]$/u
const NAME_REASON = 'printable characters. Can not start or end with whitespace.'
const AZ_NAME_REASON = 'printable characters except :.Can not start or end with whitespace.'
const KEYPAIR_20_CHARS = '_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
const KEYPAIR_292_CHARS = '@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'

/** Formats whose failure Nova reports with an `InvalidName` message instead of the generic format message. */
const NAME_FORMAT_REASONS: Readonly<Record<string, string | ((value: unknown) => string)>> = {
  name: NAME_REASON,
  az_name: AZ_NAME_REASON,
  name_with_leading_trailing_spaces: 'printable characters with at least one non space character',
  az_name_with_leading_trailing_spaces: 'printable characters except :, with at least one non space character',
  keypair_name_20: `Only expected characters: [${KEYPAIR_20_CHARS}]`,
  keypair_name_292: `Only expected characters: [${KEYPAIR_292_CHARS}]`,
}

function isName(value: string): boolean {
  return PRINTABLE_RE.test(value) && !EDGE_WS_RE.test(value)
}

function hasNonSpace(value: string): boolean {
  return PRINTABLE_RE.test(value) && /[^\p{Z}]/u.test(value)
}

function onlyChars(allowed: string): (value: string) => boolean {
  const set = new Set(allowed)
  return (value) => [...value].every((c) => set.has(c))
}

/** Nova's `_number_from_str`: an int or float parsed from a string, or undefined. */
function numberFromString(value: unknown): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value !== 'string' || value.trim() === '') return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}

/**
 * jsonschema checks `pattern` before `minimum` in Nova's schemas (dict order); ajv runs custom keywords first.
 * So a string that fails its schema's `pattern` is left for `pattern` to report.
 */
function patternAllows(parent: AnySchemaObject | undefined, data: unknown): boolean {
  const pattern = parent?.pattern
  if (typeof data !== 'string' || typeof pattern !== 'string') return true
  let re = PATTERN_CACHE.get(pattern)
  if (!re) {
    re = new RegExp(pattern, 'u')
    PATTERN_CACHE.set(pattern, re)
  }
  return re.test(data)
}

const PATTERN_CACHE = new Map<string, RegExp>()

/** Creates the ajv instance used by every surface: Nova's formats, no coercion, no defaults, no stripping. */
export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, verbose: true, coerceTypes: false, useDefaults: false, removeAdditional: false })
  addFormats(ajv, ['ipv4', 'ipv6', 'uri', 'date', 'email', 'hostname'])
  ajv.addFormat('uuid', UUID_RE)
  // Nova parses timestamps with iso8601.parse_date: the zone and the seconds are optional.
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d(?::?\d\d)?)?$/i)
  ajv.addFormat('name', { type: 'string', validate: isName })
  ajv.addFormat('az_name', { type: 'string', validate: (v: string) => isName(v) && !v.includes(':') })
  ajv.addFormat('name_with_leading_trailing_spaces', { type: 'string', validate: hasNonSpace })
  ajv.addFormat('az_name_with_leading_trailing_spaces', { type: 'string', validate: (v: string) => hasNonSpace(v) && !v.includes(':') })
  ajv.addFormat('keypair_name_20', { type: 'string', validate: onlyChars(KEYPAIR_20_CHARS) })
  ajv.addFormat('keypair_name_292', { type: 'string', validate: onlyChars(KEYPAIR_292_CHARS) })
  ajv.addFormat('base64', { type: 'string', validate: (v: string) => /^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(v) })
  ajv.addFormat('regex', {
    type: 'string',
    validate: (v: string) => {
      if (v === '') return false
      try {
        new RegExp(v)
        return true
      } catch {
        return false
      }
    },
  })
  ajv.addFormat('cidr', {
    type: 'string',
    validate: (v: string) => /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(v) || /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(v),
  })
  ajv.addKeyword({
    keyword: 'novaMinimum',
    schemaType: 'number',
    errors: true,
    validate: function novaMinimum(this: unknown, limit: number, data: unknown, parent?: AnySchemaObject): boolean {
      if (!patternAllows(parent, data)) return true
      const n = numberFromString(data)
      if (n === undefined || n >= limit) return true
      ;(novaMinimum as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: 'minimum', params: { limit, value: n }, data } as Partial<ErrorObject>]
      return false
    },
  })
  ajv.addKeyword({
    keyword: 'novaExclusiveMinimum',
    schemaType: 'number',
    errors: true,
    validate: function novaExclusiveMinimum(this: unknown, limit: number, data: unknown, parent?: AnySchemaObject): boolean {
      if (!patternAllows(parent, data)) return true
      const n = numberFromString(data)
      if (n === undefined || n > limit) return true
      ;(novaExclusiveMinimum as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: 'exclusiveMinimum', params: { limit, value: n }, data } as Partial<ErrorObject>]
      return false
    },
  })
  ajv.addKeyword({
    keyword: 'novaMaximum',
    schemaType: 'number',
    errors: true,
    validate: function novaMaximum(this: unknown, limit: number, data: unknown, parent?: AnySchemaObject): boolean {
      if (!patternAllows(parent, data)) return true
      const n = numberFromString(data)
      if (n === undefined || n <= limit) return true
      ;(novaMaximum as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: 'maximum', params: { limit, value: n }, data } as Partial<ErrorObject>]
      return false
    },
  })
  return ajv
}

/**
 * Rewrites Nova's dialect into ajv's: `minimum`/`maximum` become `novaMinimum`/`novaMaximum`, which, like Nova's
 * `_SchemaValidator`, also bound numeric strings (`"0"` fails `minimum: 1`).
 */
export function toAjvSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toAjvSchema)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  const exclusive = (schema as Record<string, unknown>).exclusiveMinimum === true
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'exclusiveMinimum' && typeof v === 'boolean') continue
    if (k === 'minimum') out[exclusive ? 'novaExclusiveMinimum' : 'novaMinimum'] = v
    else if (k === 'maximum') out.novaMaximum = v
    else if (k === 'enum' || k === 'const' || k === 'default' || k === 'pattern' || k === 'format' || k === 'type') out[k] = v
    else if (k === 'properties' || k === 'patternProperties' || k === 'definitions') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([p, s]) => [p, toAjvSchema(s)]))
    } else out[k] = toAjvSchema(v)
  }
  return out
}

/**
 * Python's `repr()` of a JSON value, as Nova's messages print values (`'abc'`, `None`, `True`, `{'a': 1}`).
 */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'"
    let s = ''
    for (const c of value) {
      if (c === '\\') s += '\\\\'
      else if (c === quote) s += `\\${c}`
      else if (c === '\n') s += '\\n'
      else if (c === '\r') s += '\\r'
      else if (c === '\t') s += '\\t'
      else s += c
    }
    return `${quote}${s}${quote}`
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`
  }
  return String(value)
}

/** Python's `str()` of a JSON value: strings bare, everything else as {@link pyRepr}. */
function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value)
}

/** jsonschema's (draft 4) message for one failed keyword. */
function jsonschemaMessage(err: ErrorObject, siblings: readonly ErrorObject[]): string {
  const data = err.data
  const p = err.params as Record<string, unknown>
  switch (err.keyword) {
    case 'required':
      return `${pyRepr(p.missingProperty)} is a required property`
    case 'additionalProperties': {
      const parent = err.parentSchema as Record<string, unknown> | undefined
      const extras = Object.keys((data ?? {}) as object).filter((k) => {
        const props = (parent?.properties ?? {}) as Record<string, unknown>
        if (k in props) return false
        const patterns = Object.keys((parent?.patternProperties ?? {}) as object)
        return !patterns.some((re) => new RegExp(re, 'u').test(k))
      })
      const list = extras.length ? extras : [String(p.additionalProperty)]
      const patterns = Object.keys((parent?.patternProperties ?? {}) as object)
      if (patterns.length) {
        return `${list.sort().map(pyRepr).join(', ')} ${list.length === 1 ? 'does' : 'do'} not match any of the regexes: ${patterns.sort().map(pyRepr).join(', ')}`
      }
      return `Additional properties are not allowed (${list.map(pyRepr).join(', ')} ${list.length === 1 ? 'was' : 'were'} unexpected)`
    }
    case 'type': {
      const types = String(p.type).split(',')
      return `${pyRepr(data)} is not of type ${types.map((t) => pyRepr(t)).join(', ')}`
    }
    case 'maxLength':
    case 'maxItems':
      return `${pyRepr(data)} is too long`
    case 'minLength':
    case 'minItems':
      return `${pyRepr(data)} is too short`
    case 'minimum':
      return `${pyRepr(p.value ?? data)} is less than the minimum of ${pyRepr(p.limit)}`
    case 'exclusiveMinimum':
      return `${pyRepr(p.value ?? data)} is less than or equal to the minimum of ${pyRepr(p.limit)}`
    case 'maximum':
    case 'exclusiveMaximum':
      return `${pyRepr(p.value ?? data)} is greater than the maximum of ${pyRepr(p.limit)}`
    case 'enum':
      return `${pyRepr(data)} is not one of ${pyRepr(p.allowedValues)}`
    case 'pattern':
      return `${pyRepr(data)} does not match ${pyRepr(p.pattern)}`
    case 'format':
      return `${pyRepr(data)} is not a ${pyRepr(p.format)}`
    case 'uniqueItems':
      return `${pyRepr(data)} has non-unique elements`
    case 'maxProperties':
      return `${pyRepr(data)} has too many properties`
    case 'minProperties':
      return `${pyRepr(data)} does not have enough properties`
    case 'not':
      return `${pyRepr(data)} is not allowed for ${pyRepr(err.schema)}`
    case 'oneOf':
      if (Array.isArray(p.passingSchemas)) return `${pyRepr(data)} is valid under each of ${pyRepr(err.schema)}`
      return branchMessage(err, siblings) ?? `${pyRepr(data)} is not valid under any of the given schemas`
    case 'anyOf':
      return branchMessage(err, siblings) ?? `${pyRepr(data)} is not valid under any of the given schemas`
    default:
      return err.message ?? `${pyRepr(data)} is invalid`
  }
}

/**
 * For a failed `oneOf`/`anyOf`, the message of the one branch that had the right JSON type but failed a constraint,
 * which is what jsonschema's `best_match` ends up reporting in the common cases (`'x' is not one of ['none', 'auto']`).
 */
function branchMessage(err: ErrorObject, siblings: readonly ErrorObject[]): string | undefined {
  const candidates = siblings.filter((e) => e !== err && e.instancePath === err.instancePath && e.keyword !== 'type' && e.keyword !== 'oneOf' && e.keyword !== 'anyOf')
  const first = candidates[0]
  return first ? jsonschemaMessage(first, []) : undefined
}

/** The property name or index an ajv error is about, as jsonschema's `path.pop()`. */
function lastPathSegment(instancePath: string): string | undefined {
  if (instancePath === '') return undefined
  const seg = instancePath.slice(instancePath.lastIndexOf('/') + 1)
  return seg.replace(/~1/g, '/').replace(/~0/g, '~')
}

/** The first ajv error that should be reported (the outer `oneOf`/`anyOf` rather than its branches' noise). */
function pickError(errors: readonly ErrorObject[]): ErrorObject {
  const composite = errors.find((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
  if (composite) {
    // A failure inside a branch at a deeper path than the composite is the real cause only if nothing else failed.
    return composite
  }
  return errors[0] as ErrorObject
}

/**
 * Nova's validation message for ajv's errors (`_SchemaValidator.validate`): the `InvalidName` sentence for name
 * formats, `Invalid input for field/attribute <field>. Value: <value>. <jsonschema message>` when the error has a
 * path, the bare jsonschema message otherwise. Query parameters use `Invalid input for query parameters <name>`.
 */
export function novaValidationMessage(errors: readonly ErrorObject[], kind: 'body' | 'query' = 'body'): string {
  const err = pickError(errors)
  if (err.keyword === 'format') {
    const reason = NAME_FORMAT_REASONS[String((err.params as { format?: unknown }).format)]
    if (reason !== undefined) {
      return `An invalid 'name' value was provided. The name must be: ${typeof reason === 'function' ? reason(err.data) : reason}`
    }
  }
  const message = jsonschemaMessage(err, errors)
  if (kind === 'query') {
    const first = err.instancePath.split('/')[1]
    if (first === undefined) return message
    const value = err.data
    return `Invalid input for query parameters ${first.replace(/~1/g, '/').replace(/~0/g, '~')}. Value: ${pyStr(value)}. ${message}`
  }
  const field = lastPathSegment(err.instancePath)
  if (field === undefined) return message
  return `Invalid input for field/attribute ${field}. Value: ${pyStr(err.data)}. ${message}`
}

/**
 * Turns schemas into {@link Validator}s. Each distinct schema is compiled once, on its first use: compiling every
 * route's schemas up front cost about 0.4 s of start-up, which the reference server's ≤ 1 s readiness target
 * cannot afford. {@link SchemaCompiler.compileAll} compiles whatever is still pending (used by tests, and after
 * the server is listening).
 */
export class SchemaCompiler {
  private readonly ajv: Ajv
  /** Identical schemas (the same shape in several microversion ranges) are compiled once. */
  private readonly compiled = new Map<string, ValidateFunction>()

  constructor(ajv: Ajv = createAjv()) {
    this.ajv = ajv
  }

  /** Compiles a request-body schema written in Nova's dialect. */
  body(schema: JsonSchema): Validator {
    return this.wrap(this.compile(schema), 'body')
  }

  /**
   * Compiles a query schema in Nova's dialect: each parameter is an array of strings (see {@link normalizeQuery}).
   */
  query(schema: JsonSchema): Validator {
    return this.wrap(this.compile(schema), 'query')
  }

  private readonly pending = new Map<string, JsonSchema>()

  /** Compiles every schema not compiled yet; returns how many it compiled. */
  compileAll(): number {
    let n = 0
    for (const [key, schema] of [...this.pending]) {
      this.compileKey(key, schema)
      n++
    }
    return n
  }

  private compile(schema: JsonSchema): () => ValidateFunction {
    const key = JSON.stringify(schema)
    if (!this.compiled.has(key)) this.pending.set(key, schema)
    let fn: ValidateFunction | undefined
    return () => (fn ??= this.compileKey(key, schema))
  }

  private compileKey(key: string, schema: JsonSchema): ValidateFunction {
    let fn = this.compiled.get(key)
    if (!fn) {
      fn = this.ajv.compile(toAjvSchema(schema) as object)
      this.compiled.set(key, fn)
    }
    this.pending.delete(key)
    return fn
  }

  private wrap(get: () => ValidateFunction, kind: 'body' | 'query'): Validator {
    return (value: unknown) => {
      const fn = get()
      if (!fn(value)) throw new HttpError(400, novaValidationMessage(fn.errors ?? [], kind))
    }
  }
}

/**
 * The query string as Nova sees it (`request.GET` as a multi-dict): every parameter is an array of strings,
 * in order of appearance.
 */
export function normalizeQuery(query: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  if (query === null || typeof query !== 'object') return out
  for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String)
    else if (v !== undefined) out[k] = [String(v)]
  }
  return out
}
