import { badRequest, HttpError } from '../common/http-error.js'
import { normalizeQuery, type JsonSchema, type SchemaCompiler, type Validator } from '../common/validation.js'
import { MAX_MICROVERSION, type Microversion } from './microversion.js'

/**
 * The last value of a query parameter, as webob's `MultiDict.get` returns it, or undefined when absent.
 */
export function lastParam(query: Readonly<Record<string, readonly string[]>>, key: string): string | undefined {
  const values = query[key]
  return values && values.length ? values[values.length - 1] : undefined
}

const TRUE_STRINGS = new Set(['1', 't', 'true', 'on', 'y', 'yes'])
const FALSE_STRINGS = new Set(['0', 'f', 'false', 'off', 'n', 'no'])

/** oslo `strutils.bool_from_string(value, strict=True)`: undefined when the string is not a boolean. */
export function boolFromString(value: string | boolean): boolean | undefined {
  if (typeof value === 'boolean') return value
  const v = value.trim().toLowerCase()
  if (TRUE_STRINGS.has(v)) return true
  if (FALSE_STRINGS.has(v)) return false
  return undefined
}

/** oslo `strutils.bool_from_string(value)` (not strict): anything not true is false. */
export function looseBool(value: string | boolean | undefined): boolean {
  if (value === undefined) return false
  return boolFromString(value) === true
}

/** A schema (or anything else) that applies from `min` to `max` microversions inclusive. */
export interface VersionedEntry<T> {
  readonly min: Microversion
  readonly max?: Microversion
  readonly value: T
}

/**
 * Picks, per request, the entry whose microversion range holds the request's version (Nova's stacked
 * `@validation.schema(schema, min, max)` decorators). Resolved through a table, so the lookup costs nothing.
 */
export class Versioned<T> {
  private readonly table = new Map<Microversion, T>()

  constructor(entries: readonly VersionedEntry<T>[]) {
    for (const e of entries) {
      for (let v = e.min; v <= (e.max ?? MAX_MICROVERSION); v++) this.table.set(v, e.value)
    }
  }

  /** The value for a microversion, or undefined when no entry covers it. */
  at(version: Microversion): T | undefined {
    return this.table.get(version)
  }
}

/** Compiles one request-body schema per microversion range (see {@link Versioned}). */
export function versionedBody(schemas: SchemaCompiler, entries: readonly VersionedEntry<JsonSchema>[]): (version: Microversion, body: unknown) => void {
  const compiled = new Versioned<Validator>(entries.map((e) => ({ ...e, value: schemas.body(e.value) })))
  return (version, body) => {
    const validate = compiled.at(version)
    if (!validate) throw new HttpError(404, 'The resource could not be found.')
    validate(body)
  }
}

/**
 * Compiles a Nova query schema (parameters as arrays of strings) for two ranges: before 2.75 unknown parameters
 * are ignored; from 2.75 they are a 400 (`additionalProperties: false`). Returns the normalised query.
 */
export function queryValidator(
  schemas: SchemaCompiler,
  properties: Readonly<Record<string, JsonSchema>>,
  strictFrom: Microversion | null = 2075,
): (version: Microversion, query: unknown) => Record<string, string[]> {
  const lenient = schemas.query({ type: 'object', properties, additionalProperties: true })
  const strict = strictFrom === null ? lenient : schemas.query({ type: 'object', properties, additionalProperties: false })
  return (version, query) => {
    const q = normalizeQuery(query)
    ;(strictFrom !== null && version >= strictFrom ? strict : lenient)(q)
    return q
  }
}

/** Compiles one query schema per microversion range; returns the normalised query (arrays of strings). */
export function versionedQuery(schemas: SchemaCompiler, entries: readonly VersionedEntry<JsonSchema>[]): (version: Microversion, query: unknown) => Record<string, string[]> {
  const compiled = new Versioned<Validator>(entries.map((e) => ({ ...e, value: schemas.query(e.value) })))
  return (version, query) => {
    const q = normalizeQuery(query)
    compiled.at(version)?.(q)
    return q
  }
}

/** Nova `parameter_types.multi_params`: a query parameter's array of values. */
export function multi(schema: JsonSchema): JsonSchema {
  return { type: 'array', items: schema }
}

/** Nova `parameter_types.non_negative_integer` for query parameters. */
export const NON_NEGATIVE_INT: JsonSchema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 0, minLength: 1 }

/** Parses a validated non-negative integer parameter. */
export function intParam(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number.parseInt(value, 10)
}

/**
 * The action of a `POST …/action` body (Nova `action_peek`): the body must be an object with exactly one key,
 * else 400 "Malformed request body".
 */
export function actionOf(body: unknown): string {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const keys = Object.keys(body)
    if (keys.length === 1) return keys[0] as string
  }
  throw badRequest('Malformed request body')
}
