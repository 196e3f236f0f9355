import { ComputeError, type SerializedComputeError } from '@novum/core'
import { VIR_ERROR_CODE_NAMES, VIR_ERROR_DOMAIN_NAMES } from './generated/virterror.js'
import type { RemoteError } from './generated/remote-protocol.js'

/** The fields of libvirt's error struct (`remote_error`) that {@link LibvirtError} keeps. */
export interface LibvirtErrorFields {
  /** `virErrorNumber`, e.g. 42 (`VIR_ERR_NO_DOMAIN`). */
  readonly code: number
  /** `virErrorDomain`: the subsystem, e.g. 10 (`VIR_FROM_QEMU`). */
  readonly domain: number
  readonly message: string
  /** `virErrorLevel`: 1 warning, 2 error. */
  readonly level: number
  readonly str1?: string | null
  readonly str2?: string | null
  readonly str3?: string | null
  readonly int1?: number
  readonly int2?: number
}

/**
 * A failed libvirt call: libvirt's error struct as a `ComputeError('VIRT')`. `libvirtCode` and `libvirtDomain` are
 * libvirt's numbers ({@link VirErrorCode} names them); they are also in `details`, so the error survives a
 * transport hop (`ComputeError.fromJSON` rebuilds a LibvirtError).
 *
 * @example
 * ```ts
 * try { await client.call('DOMAIN_LOOKUP_BY_NAME', { name: 'nope' }) }
 * catch (err) { if (LibvirtError.hasCode(err, VirErrorCode.VIR_ERR_NO_DOMAIN)) { ... } }
 * ```
 */
export class LibvirtError extends ComputeError {
  override readonly name: string = 'LibvirtError'
  /** libvirt's error code (`virErrorNumber`). */
  readonly libvirtCode: number
  /** libvirt's error domain (`virErrorDomain`). */
  readonly libvirtDomain: number
  /** libvirt's error level (1 warning, 2 error). */
  readonly level: number

  constructor(fields: LibvirtErrorFields, options: { readonly procedure?: string; readonly cause?: unknown } = {}) {
    super('VIRT', fields.message, {
      details: {
        libvirtCode: fields.code,
        libvirtCodeName: VIR_ERROR_CODE_NAMES[fields.code] ?? `unknown (${fields.code})`,
        libvirtDomain: fields.domain,
        libvirtDomainName: VIR_ERROR_DOMAIN_NAMES[fields.domain] ?? `unknown (${fields.domain})`,
        level: fields.level,
        ...(options.procedure ? { procedure: options.procedure } : {}),
        ...(fields.str1 ? { str1: fields.str1 } : {}),
        ...(fields.str2 ? { str2: fields.str2 } : {}),
        ...(fields.str3 ? { str3: fields.str3 } : {}),
        ...(fields.int1 ? { int1: fields.int1 } : {}),
        ...(fields.int2 ? { int2: fields.int2 } : {}),
      },
      ...(options.cause !== undefined ? { cause: options.cause } : {}),
    })
    this.libvirtCode = fields.code
    this.libvirtDomain = fields.domain
    this.level = fields.level
  }

  /** libvirt's name for the code, e.g. `VIR_ERR_NO_DOMAIN`. */
  get libvirtCodeName(): string {
    return VIR_ERROR_CODE_NAMES[this.libvirtCode] ?? `unknown (${this.libvirtCode})`
  }

  /** Builds the error from an error reply's body (`remote_error`). */
  static fromRemote(error: RemoteError, procedure?: string): LibvirtError {
    const code = VIR_ERROR_CODE_NAMES[error.code] ?? `code ${error.code}`
    return new LibvirtError(
      {
        code: error.code,
        domain: error.domain,
        message: error.message ?? `libvirt error ${code}${procedure ? ` in ${procedure}` : ''}`,
        level: error.level,
        str1: error.str1,
        str2: error.str2,
        str3: error.str3,
        int1: error.int1,
        int2: error.int2,
      },
      procedure ? { procedure } : {},
    )
  }

  /** True when `value` is a libvirt error (also one rebuilt after a transport hop) with one of these codes. */
  static hasCode(value: unknown, ...codes: number[]): boolean {
    if (!ComputeError.is(value, 'VIRT')) return false
    const code = value instanceof LibvirtError ? value.libvirtCode : value.details?.['libvirtCode']
    return typeof code === 'number' && codes.includes(code)
  }
}

ComputeError.registerReviver('LibvirtError', (json: SerializedComputeError) => {
  const d = json.details ?? {}
  const num = (k: string): number => (typeof d[k] === 'number' ? (d[k] as number) : 0)
  const str = (k: string): string | null => (typeof d[k] === 'string' ? (d[k] as string) : null)
  const procedure = str('procedure')
  return new LibvirtError(
    { code: num('libvirtCode'), domain: num('libvirtDomain'), level: num('level'), message: json.message, str1: str('str1'), str2: str('str2'), str3: str('str3'), int1: num('int1'), int2: num('int2') },
    procedure ? { procedure } : {},
  )
})
