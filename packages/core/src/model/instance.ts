import type { Flavor } from './flavor.js'
import type { PowerState } from './states.js'

/**
 * An instance as it crosses service boundaries: plain JSON, no methods, so it survives a transport hop.
 * The database row is in `db/database.ts`; repositories convert between the two.
 */
export interface Instance {
  readonly uuid: string
  readonly displayName: string
  readonly description: string | null
  readonly projectId: string
  readonly userId: string
  readonly imageRef: string
  readonly flavor: Flavor
  readonly vmState: string
  readonly taskState: string | null
  readonly powerState: PowerState
  /** The compute service host, or null until one is chosen. */
  readonly host: string | null
  /** The hypervisor node on that host, or null until one is chosen. */
  readonly node: string | null
  readonly availabilityZone: string | null
  readonly keyName: string | null
  readonly keyData: string | null
  readonly userData: string | null
  readonly metadata: Readonly<Record<string, string>>
  readonly locked: boolean
  readonly lockedBy: string | null
  readonly launchedAt: string | null
  readonly terminatedAt: string | null
  readonly createdAt: string
  readonly updatedAt: string | null
  readonly deletedAt: string | null
  readonly reservationId: string
  readonly launchIndex: number
  /** The hypervisor's name for the guest, e.g. `instance-0000002a`. */
  readonly instanceName: string
  readonly hostname: string
  /** The requested networks: `none`, `auto` or explicit (kept for a future networking service). */
  readonly networks: 'none' | 'auto' | readonly unknown[]
}
