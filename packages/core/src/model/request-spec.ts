import type { Flavor } from './flavor.js'
import type { ImageMeta } from './image-meta.js'

/** A server group as the scheduler sees it. */
export interface RequestServerGroup {
  readonly uuid: string
  readonly policy: 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity'
  readonly rules: Readonly<Record<string, number>>
  /** Hosts that members already run on (updated as a multi-create is placed). */
  readonly hosts: readonly string[]
  readonly members: readonly string[]
}

/**
 * Everything the scheduler is asked: what to place and under which constraints (Nova `RequestSpec`).
 * Plain JSON, so it crosses a transport.
 */
export interface RequestSpec {
  /** The instance uuids to place; one entry per instance of a multi-create. */
  readonly instanceUuids: readonly string[]
  readonly projectId: string
  readonly userId: string
  readonly flavor: Flavor
  readonly image: ImageMeta
  readonly availabilityZone: string | null
  /** `os:scheduler_hints`, values normalised to string arrays. */
  readonly schedulerHints: Readonly<Record<string, readonly string[]>>
  readonly instanceGroup: RequestServerGroup | null
  /** Hosts to skip (e.g. after a failed build on them). */
  readonly ignoreHosts: readonly string[]
  /** Force a host (admin-only `az:host` form or 2.74 `host`). */
  readonly requestedHost: string | null
  readonly requestedNode: string | null
  /** True for a same-host rebuild: only `runOnRebuild` filters run, and nothing is claimed. */
  readonly isRebuild: boolean
}
