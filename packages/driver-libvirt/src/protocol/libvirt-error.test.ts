import { ComputeError } from '@novum/core'
import { describe, expect, it } from 'vitest'
import { remoteError, type RemoteError } from './generated/remote-protocol.js'
import { VirErrorCode, VirErrorDomain } from './generated/virterror.js'
import { LibvirtError } from './libvirt-error.js'
import { decodeXdr, encodeXdr } from './xdr.js'

const wire: RemoteError = {
  code: VirErrorCode.VIR_ERR_NO_DOMAIN,
  domain: VirErrorDomain.VIR_FROM_QEMU,
  message: "Domain not found: no domain with matching name 'nope'",
  level: 2,
  dom: null,
  str1: 'Domain not found: %s',
  str2: "no domain with matching name 'nope'",
  str3: null,
  int1: -1,
  int2: -1,
  net: null,
}

describe(LibvirtError.name, () => {
  it("maps libvirt's error struct, decoded from the wire, to a ComputeError('VIRT') with names", () => {
    const err = LibvirtError.fromRemote(decodeXdr(remoteError, encodeXdr(remoteError, wire)), 'DOMAIN_LOOKUP_BY_NAME')
    expect(ComputeError.is(err, 'VIRT')).toBe(true)
    expect(err).toBeInstanceOf(LibvirtError)
    expect(err.message).toBe("Domain not found: no domain with matching name 'nope'")
    expect(err.libvirtCode).toBe(42)
    expect(err.libvirtCodeName).toBe('VIR_ERR_NO_DOMAIN')
    expect(err.details).toMatchObject({ libvirtCode: 42, libvirtCodeName: 'VIR_ERR_NO_DOMAIN', libvirtDomain: 10, libvirtDomainName: 'VIR_FROM_QEMU', level: 2, procedure: 'DOMAIN_LOOKUP_BY_NAME' })
  })

  it('survives a transport hop: fromJSON rebuilds a LibvirtError that hasCode still recognises', () => {
    const err = LibvirtError.fromRemote(wire, 'DOMAIN_LOOKUP_BY_NAME')
    const back = ComputeError.fromJSON(JSON.parse(JSON.stringify(err.toJSON())))
    expect(back).toBeInstanceOf(LibvirtError)
    expect((back as LibvirtError).libvirtCode).toBe(42)
    expect(LibvirtError.hasCode(back, VirErrorCode.VIR_ERR_NO_DOMAIN)).toBe(true)
    expect(LibvirtError.hasCode(back, VirErrorCode.VIR_ERR_OPERATION_INVALID)).toBe(false)
    // a plain ComputeError carrying the details is recognised too
    expect(LibvirtError.hasCode(new ComputeError('VIRT', 'x', { details: { libvirtCode: 42 } }), 42)).toBe(true)
  })

  it('words a message when libvirt sent none, and names unknown codes', () => {
    const err = LibvirtError.fromRemote({ ...wire, code: 9999, domain: 9999, message: null }, 'CONNECT_OPEN')
    expect(err.message).toBe('libvirt error code 9999 in CONNECT_OPEN')
    expect(err.details).toMatchObject({ libvirtCodeName: 'unknown (9999)', libvirtDomainName: 'unknown (9999)' })
  })
})
