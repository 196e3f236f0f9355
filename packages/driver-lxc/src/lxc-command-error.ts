import { ComputeError } from '@novum/core'

/** What {@link LxcCommandError} carries: enough to see what ran and why it failed, also after a transport hop. */
export interface LxcCommandFailure {
  /** The program, e.g. `lxc-start` or `tar`. */
  readonly command: string
  /** Its arguments (never secrets: the driver passes none). */
  readonly args: readonly string[]
  /** The exit code, or null when the program was killed or could not start. */
  readonly exitCode: number | null
  /** The program's standard error, trimmed (the last 4 KiB). */
  readonly stderr: string
  /** True when the program ran longer than its timeout and was killed. */
  readonly timedOut: boolean
  /** How long it ran, in ms. */
  readonly durationMs: number
}

const MAX_STDERR = 4096

/**
 * A failed `lxc-*` (or `tar`) command: a `ComputeError('VIRT')` whose message names the command and quotes its
 * stderr, and whose `details` hold the {@link LxcCommandFailure} fields (`command`, `args`, `exitCode`, `stderr`,
 * `timedOut`, `durationMs`). `instanceof` works in process; after a transport hop the error is a plain
 * `ComputeError` with the same code and details.
 *
 * @example
 * ```ts
 * try { await tools.run('lxc-start', ['-n', 'missing']) }
 * catch (err) { if (err instanceof LxcCommandError) console.log(err.failure.stderr) }
 * ```
 */
export class LxcCommandError extends ComputeError {
  override readonly name: string = 'LxcCommandError'
  /** The failed command, typed. */
  readonly failure: LxcCommandFailure

  constructor(failure: LxcCommandFailure, options?: ErrorOptions & { readonly context?: string }) {
    const stderr = failure.stderr.length > MAX_STDERR ? `…${failure.stderr.slice(-MAX_STDERR)}` : failure.stderr
    const what = failure.timedOut
      ? `timed out after ${Math.round(failure.durationMs)} ms`
      : failure.exitCode === null
        ? 'could not run'
        : `exited with ${failure.exitCode}`
    const prefix = options?.context ? `${options.context}: ` : ''
    const message = `${prefix}${failure.command} ${failure.args.join(' ')} ${what}${stderr ? `: ${stderr}` : ''}`
    const normalised: LxcCommandFailure = { ...failure, stderr }
    super('VIRT', message, { ...(options?.cause !== undefined ? { cause: options.cause } : {}), details: { ...normalised } })
    this.failure = normalised
  }

  /** True when `value` is an {@link LxcCommandError} of this package (or its serialised form, by details). */
  static isCommandFailure(value: unknown): value is ComputeError & { readonly details: LxcCommandFailure } {
    if (!ComputeError.is(value, 'VIRT')) return false
    const d = value.details
    return d !== undefined && typeof d['command'] === 'string' && Array.isArray(d['args']) && typeof d['stderr'] === 'string'
  }
}
