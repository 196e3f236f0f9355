import { ComputeError } from '@novum/core'

/** A uuid string as libvirt's 16-byte `remote_uuid`. */
export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '')
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new ComputeError('INVALID', `"${uuid}" is not a uuid`)
  return Buffer.from(hex, 'hex')
}

/** libvirt's 16-byte `remote_uuid` as the usual lower-case string. */
export function uuidFromBytes(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
