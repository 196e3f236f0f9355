import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import { createAjv, novaValidationMessage, toAjvSchema, type JsonSchema } from '../common/validation.js'
import { PlacementError } from './errors.js'

/** jsonschema's message for the first failure, without Nova's "Invalid input for field/attribute" prefix. */
function jsonschemaText(errors: readonly ErrorObject[]): string {
  return novaValidationMessage(errors.map((e) => ({ ...e, instancePath: '' })))
}

/**
 * Placement's request validation (`util.extract_json`, `util.validate_query_params`): each schema is compiled
 * once, on first use, by the ajv instance every api-http surface uses. A failing body is a 400
 * `JSON does not validate: <jsonschema message>`; a failing query string is a 400
 * `Invalid query string parameters: <jsonschema message>`.
 */
export class PlacementSchemas {
  private readonly ajv: Ajv
  private readonly compiled = new WeakMap<JsonSchema, ValidateFunction>()

  constructor(ajv: Ajv = createAjv()) {
    this.ajv = ajv
  }

  private get(schema: JsonSchema): ValidateFunction {
    let fn = this.compiled.get(schema)
    if (!fn) {
      fn = this.ajv.compile(toAjvSchema(schema) as object)
      this.compiled.set(schema, fn)
    }
    return fn
  }

  /** Validates a JSON body; returns it typed as the caller expects once it passed. */
  body<T>(schema: JsonSchema, body: unknown): T {
    const fn = this.get(schema)
    if (!fn(body)) throw new PlacementError(400, `JSON does not validate: ${jsonschemaText(fn.errors ?? [])}`)
    return body as T
  }

  /**
   * Validates the query string as Placement does: `dict(req.GET)`, i.e. the last value of each parameter, as
   * strings.
   */
  query(schema: JsonSchema, query: Readonly<Record<string, readonly string[]>>): void {
    const last: Record<string, string> = {}
    for (const [k, v] of Object.entries(query)) if (v.length) last[k] = v[v.length - 1] as string
    const fn = this.get(schema)
    if (!fn(last)) throw new PlacementError(400, `Invalid query string parameters: ${jsonschemaText(fn.errors ?? [])}`)
  }
}
