/** A supported-instance tuple: (architecture, hypervisor type, vm mode). */
export type SupportedInstance = readonly [arch: string, hvType: string, vmMode: string]

/**
 * What the scheduler knows of one compute node while it decides: capacity from the compute node record,
 * the service's liveness, aggregates, and instances on it. Filters and weighers read it; they never change it.
 */
export interface HostState {
  /** The compute service host name. */
  readonly host: string
  /** The hypervisor node name. */
  readonly nodename: string
  /** The compute node (and root resource provider) uuid. */
  readonly uuid: string
  readonly totalUsableRamMb: number
  readonly freeRamMb: number
  readonly totalUsableDiskGb: number
  readonly freeDiskMb: number
  readonly vcpusTotal: number
  readonly vcpusUsed: number
  readonly cpuAllocationRatio: number
  readonly ramAllocationRatio: number
  readonly diskAllocationRatio: number
  readonly numInstances: number
  readonly numIoOps: number
  readonly failedBuilds: number
  readonly hostIp: string | null
  readonly hypervisorType: string
  readonly hypervisorVersion: number
  readonly hypervisorHostname: string
  readonly cpuInfo: Readonly<Record<string, unknown>>
  readonly supportedInstances: readonly SupportedInstance[]
  /** Free-form metrics reported by the host (e.g. `cpu.percent`, or a plugin's own). */
  readonly metrics: Readonly<Record<string, number>>
  /** Stats reported by the compute node (`num_instances`, `num_vm_active`, …). */
  readonly stats: Readonly<Record<string, string>>
  readonly aggregates: readonly HostAggregate[]
  /** Uuids of instances on this host. */
  readonly instanceUuids: readonly string[]
  readonly service: HostService
  /** Traits of the host's root resource provider. */
  readonly traits: readonly string[]
  /** ISO timestamp of the last compute node update. */
  readonly updatedAt: string | null
}

/** The compute service record as the scheduler sees it. */
export interface HostService {
  readonly disabled: boolean
  readonly disabledReason: string | null
  readonly forcedDown: boolean
  /** True when the last heartbeat is recent enough (within `serviceDownTimeSec`). */
  readonly up: boolean
}

/** A host aggregate as the scheduler sees it. */
export interface HostAggregate {
  readonly id: number
  readonly uuid: string
  readonly name: string
  readonly availabilityZone: string | null
  readonly metadata: Readonly<Record<string, string>>
}
