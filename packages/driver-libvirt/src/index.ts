/**
 * `@novum/driver-libvirt`: a Novum `VirtDriver` for QEMU through libvirt, speaking libvirt's own remote
 * protocol (XDR RPC over the daemon's unix socket) in TypeScript, with no native addon.
 *
 * - {@link createDriver} is the `DriverFactory` a deployment loads for `--driver libvirt`;
 * - {@link LibvirtDriver} is the driver;
 * - {@link LibvirtClient} is the protocol client, usable on its own.
 *
 * @packageDocumentation
 */
export { createDriver, libvirtConfigFromSettings, LIBVIRT_DRIVER_SETTINGS } from './driver/create-driver.js'
export { LibvirtDriver, LIBVIRT_CAPABILITIES, POWER_STATE_OF_DOMAIN_STATE, transitionOfLifecycleEvent, resizeDomainXml } from './driver/libvirt-driver.js'
export type { LibvirtDriverConfig, LibvirtNetworkConfig } from './driver/libvirt-driver.js'
export { buildDomainXml, buildDiskXml, buildIsolatedNetworkXml, parseDomainXml, networkForwardMode, NOVUM_METADATA_NS } from './driver/domain-xml.js'
export type { DomainSpec, DiskSpec, InterfaceSpec, DomainMetadata, ParsedDomain } from './driver/domain-xml.js'
export { uuidFromBytes, uuidToBytes } from './driver/uuid.js'

export { LibvirtClient, DEFAULT_SOCKET_PATH } from './protocol/client.js'
export type { LibvirtClientOptions, LibvirtClientStats, RemoteCallName, RemoteCallArgs } from './protocol/client.js'
export { LibvirtError } from './protocol/libvirt-error.js'
export type { LibvirtErrorFields } from './protocol/libvirt-error.js'
export {
  encodePacket, PacketDecoder, MessageType, MessageStatus, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProcedure, MAX_PACKET_BYTES,
} from './protocol/packet.js'
export type { Packet, PacketHeader } from './protocol/packet.js'
export { xdr, XdrReader, XdrWriter, XdrError, encodeXdr, decodeXdr } from './protocol/xdr.js'
export type { XdrCodec, XdrType, XdrUnionArm } from './protocol/xdr.js'
export {
  DomainState, DomainEventType, DomainEventId, DomainEventSuspendedDetail, DomainEventStoppedDetail, DomainAffect, DomainUndefineFlags, DomainDefineFlags,
  DomainCreateFlags, DomainSaveFlags, DomainShutdownFlags, DomainXmlFlags, DomainShutoffReason, ConnectListDomainsFlags, ConnectFlags, DOMAIN_STATE_NAMES,
} from './protocol/libvirt-constants.js'
export { RemoteProcedure, remoteCalls } from './protocol/generated/remote-protocol.js'
export type { RemoteCalls, RemoteNonnullDomain, RemoteNonnullNetwork, RemoteError } from './protocol/generated/remote-protocol.js'
export { VirErrorCode, VirErrorDomain, VIR_ERROR_CODE_NAMES, VIR_ERROR_DOMAIN_NAMES } from './protocol/generated/virterror.js'

