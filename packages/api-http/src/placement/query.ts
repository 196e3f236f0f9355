/**
 * Placement's query-string parsers (`placement/util.py` `normalize_*_qs_param*`, `placement/lib.py`), with
 * Placement's messages. The query is a multi-dict: every parameter maps to its values in order of appearance.
 */
import { PLACEMENT_ERROR_CODES, placementBadRequest } from './errors.js'

/** A parsed query string: parameter → values, in order. */
export type PlacementQuery = Readonly<Record<string, readonly string[]>>

const UUID_LIKE = /^(?:urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i

/** oslo `uuidutils.is_uuid_like`. */
export function isUuidLike(value: string): boolean {
  return UUID_LIKE.test(value)
}

/** The canonical (lower-case, dashed) form of a uuid-like string, as Python's `str(uuid.UUID(value))`. */
export function canonicalUuid(value: string): string {
  const hex = value.replace(/^urn:uuid:/i, '').replace(/[{}-]/g, '').toLowerCase()
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The last value of a parameter (webob `GET[key]`), or undefined. */
export function lastOf(query: PlacementQuery, key: string): string | undefined {
  const v = query[key]
  return v && v.length ? v[v.length - 1] : undefined
}

/** Python's `int()` of a string, or undefined. */
function pyInt(text: string): number | undefined {
  const t = text.trim()
  return /^[+-]?\d+$/.test(t) ? Number(t) : undefined
}

/** `resources=VCPU:2,MEMORY_MB:1024` → `{ VCPU: 2, MEMORY_MB: 1024 }` (`normalize_resources_qs_param`). */
export function parseResources(value: string): Record<string, number> {
  if (value.trim() === '') {
    throw placementBadRequest('Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string.')
  }
  const out: Record<string, number> = {}
  for (const part of value.split(',')) {
    const pieces = part.split(':')
    if (pieces.length !== 2) {
      throw placementBadRequest(`Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: ${part}.`)
    }
    const [rc, raw] = pieces as [string, string]
    const amount = pyInt(raw)
    if (amount === undefined) throw placementBadRequest(`Requested resource ${rc} expected positive integer amount. Got: ${raw}.`)
    if (amount < 1) throw placementBadRequest(`Requested resource ${rc} requires amount >= 1. Got: ${amount}.`)
    out[rc] = amount
  }
  return out
}

/** Required traits of one `required*` parameter family: all-of, any-of sets (1.39 `in:`), and forbidden. */
export interface TraitsFilter {
  readonly required: string[]
  readonly anyOf: string[][]
  readonly forbidden: string[]
}

/** One `required` value (`normalize_traits_qs_param`). */
function parseTraitsValue(value: string, allowForbidden: boolean, allowAny: boolean, into: TraitsFilter): void {
  if (value.startsWith('in:')) {
    if (!allowAny) {
      throw placementBadRequest(`Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: ${value}`)
    }
    const any = [...new Set(value.slice(3).split(',').map((t) => t.trim()))]
    if (!any.every((t) => t)) {
      throw placementBadRequest(`Invalid query string parameters: Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: ${value}`)
    }
    if (any.some((t) => t.startsWith('!'))) {
      throw placementBadRequest(`Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: ${value}`)
    }
    if (any.length === 1) into.required.push(any[0] as string)
    else into.anyOf.push(any.sort())
    return
  }
  const all = value.split(',').map((t) => t.trim())
  const forbidden = all.filter((t) => t.startsWith('!')).map((t) => t.replace(/^!+/, ''))
  if (![...forbidden, ...all].every((t) => t)) {
    const form = allowForbidden ? 'HW_CPU_X86_VMX,!CUSTOM_MAGIC' : 'HW_CPU_X86_VMX,CUSTOM_MAGIC'
    throw placementBadRequest(`Invalid query string parameters: Expected 'required' parameter value of the form: ${form}. Got an empty trait in: ${value}`)
  }
  if (forbidden.length && !allowForbidden) {
    throw placementBadRequest(`Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: ${value}`)
  }
  for (const t of all) if (!t.startsWith('!') && !into.required.includes(t)) into.required.push(t)
  for (const t of forbidden) if (!into.forbidden.includes(t)) into.forbidden.push(t)
}

/**
 * The `required<suffix>` parameters (`normalize_traits_qs_params`): forbidden `!T` from 1.22; from 1.39 `in:A,B`
 * any-of sets and repeated parameters (ANDed); before 1.39 only the last value counts.
 */
export function parseRequired(values: readonly string[], minor: number): TraitsFilter {
  const out: TraitsFilter = { required: [], anyOf: [], forbidden: [] }
  const used = minor >= 39 ? values : values.slice(-1)
  for (const v of used) parseTraitsValue(v, minor >= 22, minor >= 39, out)
  return out
}

/** Required and forbidden aggregates of one `member_of*` family. */
export interface AggregatesFilter {
  /** Each inner list is an any-of set; all sets must match. */
  readonly memberOf: string[][]
  readonly forbidden: string[]
}

/**
 * The `member_of<suffix>` parameters (`normalize_member_of_qs_params`): repeated from 1.24, forbidden `!`/`!in:`
 * from 1.32.
 */
export function parseMemberOf(values: readonly string[], minor: number, suffix = ''): AggregatesFilter {
  if (minor < 24 && values.length > 1) throw placementBadRequest(`Multiple member_of${suffix} parameters are not supported`)
  const out: AggregatesFilter = { memberOf: [], forbidden: [] }
  for (const value of values) {
    if (value.includes(',') && !(value.startsWith('in:') || value.startsWith('!in:'))) {
      throw placementBadRequest(`Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: ${value}`)
    }
    let required: string[] = []
    let forbidden: string[] = []
    if (value.startsWith('!in:')) forbidden = value.slice(4).split(',')
    else if (value.startsWith('!')) forbidden = [value.slice(1)]
    else if (value.startsWith('in:')) required = value.slice(3).split(',')
    else required = [value]
    for (const a of [...required, ...forbidden]) {
      if (!isUuidLike(a)) throw placementBadRequest(`Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: ${a}`)
    }
    if (required.length) out.memberOf.push([...new Set(required.map(canonicalUuid))])
    if (forbidden.length) {
      if (minor < 32) throw placementBadRequest(`Forbidden member_of${suffix} parameters are not supported in the specified microversion`)
      for (const a of forbidden.map(canonicalUuid)) if (!out.forbidden.includes(a)) out.forbidden.push(a)
    }
  }
  return out
}

/** An `in_tree<suffix>` value (`normalize_in_tree_qs_params`). */
export function parseInTree(value: string): string {
  const v = value.trim()
  if (!isUuidLike(v)) throw placementBadRequest(`Invalid query string parameters: Expected 'in_tree' parameter to be a format of uuid. Got: ${value}`)
  return canonicalUuid(v)
}

/** `root_required` (1.35): required and forbidden traits of the root provider; only one parameter allowed. */
export function parseRootRequired(values: readonly string[]): { required: string[]; forbidden: string[] } {
  if (values.length > 1) throw placementBadRequest("Query parameter 'root_required' may be specified only once.", PLACEMENT_ERROR_CODES.ILLEGAL_DUPLICATE_QUERYPARAM)
  const parsed: TraitsFilter = { required: [], anyOf: [], forbidden: [] }
  parseTraitsValue(values[0] as string, true, false, parsed)
  const conflicts = parsed.required.filter((t) => parsed.forbidden.includes(t))
  if (conflicts.length) {
    throw placementBadRequest(`Conflicting required and forbidden traits found in root_required: ${conflicts.join(', ')}`, PLACEMENT_ERROR_CODES.QUERYPARAM_BAD_VALUE)
  }
  return { required: parsed.required, forbidden: parsed.forbidden }
}

/** A string as Python's `repr()` writes it (Placement puts lists of suffixes into its messages with `%s`). */
export function pyRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'"
  let out = ''
  for (const ch of value) {
    if (ch === '\\' || ch === quote) out += `\\${ch}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else out += ch
  }
  return `${quote}${out}${quote}`
}

/** A list of strings as Python's `str(list)` writes it: `['_A', '_B']`. */
export function pyList(values: readonly string[]): string {
  return `[${values.map(pyRepr).join(', ')}]`
}

/** `same_subtree` (1.36): each parameter is a set of group suffixes. */
export function parseSameSubtree(values: readonly string[]): string[][] {
  return values.map((v) => {
    const suffixes = [...new Set(v.split(',').map((x) => x.trim()))]
    if (suffixes.includes('')) {
      throw placementBadRequest('Empty string (unsuffixed group) can not be specified in `same_subtree` ', PLACEMENT_ERROR_CODES.QUERYPARAM_BAD_VALUE)
    }
    return suffixes
  })
}

/** `associated=true|false` of `GET /traits`. */
export function parseAssociated(value: string): boolean {
  const v = value.toLowerCase()
  if (v !== 'true' && v !== 'false') throw placementBadRequest('The query parameter "associated" only accepts "true" or "false"')
  return v === 'true'
}
