import type { Flavor } from '../model/flavor.js'
import type { ImageMeta } from '../model/image-meta.js'
import type { Instance } from '../model/instance.js'

let instanceSeq = 0

/** A flavor fixture (`m1.small`-like by default); every field can be overridden. */
export function makeFlavor(overrides: Partial<Flavor> = {}): Flavor {
  return {
    id: '2',
    name: 'm1.small',
    memoryMb: 2048,
    vcpus: 1,
    rootGb: 20,
    ephemeralGb: 0,
    swapMb: 0,
    rxtxFactor: 1,
    isPublic: true,
    disabled: false,
    description: null,
    extraSpecs: {},
    ...overrides,
  }
}

/** An active raw image fixture (`cirros`-like by default). */
export function makeImageMeta(overrides: Partial<ImageMeta> = {}): ImageMeta {
  return {
    id: '155d900f-4e14-4e4c-a73d-069cbf4541e6',
    name: 'cirros-0.6.2-x86_64-disk',
    status: 'active',
    diskFormat: 'raw',
    containerFormat: 'bare',
    minRamMb: 0,
    minDiskGb: 0,
    size: 21_430_272,
    properties: {},
    ...overrides,
  }
}

/**
 * An instance fixture as it crosses service boundaries: by default `active` with no task, a fresh uuid and a
 * deterministic `instance-0000000N` name. Pass `flavor` overrides to resize it.
 */
export function makeInstance(overrides: Partial<Omit<Instance, 'flavor'>> & { readonly flavor?: Partial<Flavor> } = {}): Instance {
  const seq = ++instanceSeq
  const { flavor, ...rest } = overrides
  return {
    uuid: crypto.randomUUID(),
    displayName: `server-${seq}`,
    description: null,
    projectId: 'project-1',
    userId: 'user-1',
    imageRef: makeImageMeta().id,
    flavor: makeFlavor(flavor),
    vmState: 'active',
    taskState: null,
    powerState: 1,
    host: null,
    node: null,
    availabilityZone: null,
    keyName: null,
    keyData: null,
    userData: null,
    metadata: {},
    locked: false,
    lockedBy: null,
    launchedAt: null,
    terminatedAt: null,
    createdAt: new Date(0).toISOString(),
    updatedAt: null,
    deletedAt: null,
    reservationId: `r-${seq.toString(36).padStart(8, '0')}`,
    launchIndex: 0,
    instanceName: `instance-${seq.toString(16).padStart(8, '0')}`,
    hostname: `server-${seq}`,
    networks: 'none',
    ...rest,
  }
}
