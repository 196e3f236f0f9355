import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { serverStatus, type Server } from '@novum/core'
import type { ComputeLinks } from '../links.js'
import { mv } from '../microversion.js'
import { isotime, strtime } from './time.js'

const V2_3 = mv('2.3')
const V2_9 = mv('2.9')
const V2_19 = mv('2.19')
const V2_26 = mv('2.26')
const V2_47 = mv('2.47')
const V2_63 = mv('2.63')
const V2_73 = mv('2.73')
const V2_90 = mv('2.90')

const PROGRESS_STATUSES = new Set(['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING'])
const FAULT_STATUSES = new Set(['ERROR', 'DELETED'])

/** Nova `utils.generate_hostid`: sha224 of project id + host, hex; empty when the server has no host. */
export function hostId(host: string | null, projectId: string): string {
  if (!host) return ''
  return createHash('sha224').update(projectId + host).digest('hex')
}

/** The API status of a server (`DELETED` for a deleted row, whatever its states say). */
export function statusOf(server: Server): string {
  if (server.deletedAt !== null && server.vmState === 'deleted') return 'DELETED'
  return serverStatus(server.vmState, server.taskState)
}

/** Which groups of fields a detailed server view includes (Nova `ViewBuilder.show` flags). */
export interface ServerViewOptions {
  /** Admin fields (`OS-EXT-SRV-ATTR:*`): Nova's `os_compute_api:os-extended-server-attributes` policy. */
  readonly extendedAttributes: boolean
  /** Embedded flavor `extra_specs` (2.47+): `os_compute_api:servers:show:flavor-extra-specs`. */
  readonly flavorExtraSpecs: boolean
  /** Whether the fault's `details` may be shown (admins, or faults other than 500). */
  readonly isAdmin: boolean
  /**
   * The reduced view of `PUT /servers/{id}` before 2.75: no AZ, config drive, key name, usage, extended status
   * or volumes.
   * @default false
   */
  readonly reduced?: boolean
}

/** The `{id, links}` of a server (Nova `basic` view, used by `GET /servers`). */
export function serverBasicView(request: FastifyRequest, links: ComputeLinks, server: Server): Record<string, unknown> {
  return { id: server.uuid, name: server.displayName, links: links.pair(request, 'servers', server.uuid) }
}

function flavorView(request: FastifyRequest, links: ComputeLinks, server: Server, extraSpecs: boolean): Record<string, unknown> {
  const f = server.flavor
  if (request.microversion >= V2_47) {
    return {
      vcpus: f.vcpus,
      ram: f.memoryMb,
      disk: f.rootGb,
      ephemeral: f.ephemeralGb,
      swap: f.swapMb,
      original_name: f.name,
      ...(extraSpecs ? { extra_specs: f.extraSpecs } : {}),
    }
  }
  return { id: String(f.id), links: [{ rel: 'bookmark', href: links.bookmark(request, 'flavors', String(f.id)) }] }
}

function imageView(request: FastifyRequest, links: ComputeLinks, server: Server): Record<string, unknown> | string {
  if (!server.imageRef) return ''
  const id = server.imageRef.split('/').pop() ?? server.imageRef
  return { id, links: [{ rel: 'bookmark', href: links.bookmark(request, 'images', id) }] }
}

/**
 * Nova's detailed server view (`ViewBuilder.show`) at the request's microversion: status from
 * `serverStatus()`, `hostId`, image and flavor (a link before 2.47, the embedded copy from 2.47), fault for
 * ERROR/DELETED, progress, `OS-EXT-AZ`, `OS-EXT-STS:*`, `OS-SRV-USG:*`, admin-only `OS-EXT-SRV-ATTR:*`, and the
 * fields later microversions add (`locked` 2.9, `description` 2.19, `tags` 2.26, …).
 */
export function serverDetailView(request: FastifyRequest, links: ComputeLinks, server: Server, options: ServerViewOptions): Record<string, unknown> {
  const version = request.microversion
  const status = statusOf(server)
  const s: Record<string, unknown> = {
    id: server.uuid,
    name: server.displayName,
    status,
    tenant_id: server.projectId,
    user_id: server.userId,
    metadata: server.metadata,
    hostId: hostId(server.host, server.projectId),
    image: imageView(request, links, server),
    flavor: flavorView(request, links, server, options.flavorExtraSpecs),
    created: isotime(server.createdAt),
    updated: isotime(server.updatedAt ?? server.createdAt),
    // NOTE: Novum has no network service yet, so a server has no addresses.
    addresses: {},
    accessIPv4: server.accessIpV4 ?? '',
    accessIPv6: server.accessIpV6 ?? '',
    links: links.pair(request, 'servers', server.uuid),
    'OS-DCF:diskConfig': 'MANUAL',
  }
  if (FAULT_STATUSES.has(status) && server.fault) {
    const fault: Record<string, unknown> = { code: server.fault.code, created: isotime(server.fault.createdAt), message: server.fault.message }
    if (server.fault.details && (options.isAdmin || server.fault.code !== 500)) fault.details = server.fault.details
    s.fault = fault
  }
  if (PROGRESS_STATUSES.has(status)) s.progress = server.progress ?? 0
  const full = !options.reduced
  if (full) {
    s['OS-EXT-AZ:availability_zone'] = server.availabilityZone ?? ''
    s.config_drive = server.configDrive
    s.key_name = server.keyName
    s['OS-SRV-USG:launched_at'] = strtime(server.launchedAt)
    s['OS-SRV-USG:terminated_at'] = strtime(server.terminatedAt)
  }
  if (options.extendedAttributes && full) {
    s['OS-EXT-SRV-ATTR:host'] = server.host
    s['OS-EXT-SRV-ATTR:instance_name'] = server.instanceName
    s['OS-EXT-SRV-ATTR:hypervisor_hostname'] = server.node
    if (version >= V2_3) {
      s['OS-EXT-SRV-ATTR:reservation_id'] = server.reservationId
      s['OS-EXT-SRV-ATTR:launch_index'] = server.launchIndex
      s['OS-EXT-SRV-ATTR:hostname'] = server.hostname
      s['OS-EXT-SRV-ATTR:kernel_id'] = ''
      s['OS-EXT-SRV-ATTR:ramdisk_id'] = ''
      s['OS-EXT-SRV-ATTR:root_device_name'] = null
      s['OS-EXT-SRV-ATTR:user_data'] = server.userData
    }
  }
  if (full) {
    s['OS-EXT-STS:task_state'] = server.taskState
    s['OS-EXT-STS:vm_state'] = server.vmState
    s['OS-EXT-STS:power_state'] = server.powerState
    // NOTE: no block storage service yet, so never any volume attached.
    s['os-extended-volumes:volumes_attached'] = []
  }
  if (version >= V2_9) s.locked = server.locked
  if (version >= V2_73) s.locked_reason = server.lockedReason
  if (version >= V2_19) s.description = server.description
  if (version >= V2_26) s.tags = []
  if (version >= V2_63) s.trusted_image_certificates = null
  if (version >= V2_90 && !(options.extendedAttributes && full)) s['OS-EXT-SRV-ATTR:hostname'] = server.hostname
  return s
}
