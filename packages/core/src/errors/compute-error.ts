/**
 * The codes a {@link ComputeError} can carry. Core never mentions HTTP; `@novum/api-http` maps each code to a status.
 * See docs/errors.md for one entry per code.
 */
export type ComputeErrorCode =
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID'
  | 'NO_VALID_HOST'
  | 'QUOTA'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'NOT_IMPLEMENTED'
  | 'PLUGIN'
  | 'VIRT'
  | 'TRANSPORT'
  | 'TIMEOUT'
  | 'INTERNAL'

const brand = Symbol.for('@novum/core/ComputeError')

/** Options for {@link ComputeError}: the standard `cause` plus serialisable details. */
export interface ComputeErrorOptions extends ErrorOptions {
  /** Plain JSON data that, with the code and message, is enough to rebuild the error after a transport hop. */
  readonly details?: Readonly<Record<string, unknown>>
}

/** The JSON form of a {@link ComputeError}, as it crosses a {@link Transport}. */
export interface SerializedComputeError {
  readonly code: ComputeErrorCode
  readonly message: string
  readonly name: string
  readonly details?: Readonly<Record<string, unknown>>
}

/**
 * The one error class of Novum's core: a failed operation with a string `code`.
 *
 * `instanceof` does not survive serialisation, so use {@link ComputeError.is} to test for it, and
 * {@link ComputeError.toJSON} / {@link ComputeError.fromJSON} to carry it across a transport.
 *
 * @example
 * ```ts
 * throw new ComputeError('NOT_FOUND', `flavor ${flavorId} could not be found`)
 * ```
 */
export class ComputeError extends Error {
  readonly [brand] = true
  override readonly name: string = 'ComputeError'
  /** Serialisable details; see {@link ComputeErrorOptions.details}. */
  readonly details: Readonly<Record<string, unknown>> | undefined

  constructor(
    readonly code: ComputeErrorCode,
    message: string,
    options?: ComputeErrorOptions,
  ) {
    super(message, options)
    this.details = options?.details
  }

  /** True when `value` is a ComputeError (from any copy of this package), optionally with the given code. */
  static is(value: unknown, code?: ComputeErrorCode): value is ComputeError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true &&
      (code === undefined || (value as ComputeError).code === code)
    )
  }

  /** The JSON form that crosses a transport. */
  toJSON(): SerializedComputeError {
    return { code: this.code, message: this.message, name: this.name, ...(this.details ? { details: this.details } : {}) }
  }

  /** Rebuilds an error from its JSON form, keeping subclasses that registered themselves. */
  static fromJSON(json: SerializedComputeError): ComputeError {
    const revive = revivers.get(json.name)
    if (revive) return revive(json)
    const err = new ComputeError(json.code, json.message, json.details ? { details: json.details } : undefined)
    return err
  }

  /** @internal Lets a subclass rebuild itself in {@link ComputeError.fromJSON}. */
  static registerReviver(name: string, revive: (json: SerializedComputeError) => ComputeError): void {
    revivers.set(name, revive)
  }
}

const revivers = new Map<string, (json: SerializedComputeError) => ComputeError>()

/** Wraps anything thrown into a ComputeError (an unknown throw becomes `INTERNAL`). */
export function toComputeError(err: unknown): ComputeError {
  if (ComputeError.is(err)) return err
  const message = err instanceof Error ? err.message : String(err)
  return new ComputeError('INTERNAL', message, { cause: err })
}
