/** The lifecycle transitions a driver reports (Nova `virtevent.EVENT_LIFECYCLE_*`). */
export type VirtLifecycleTransition =
  | 'STARTED'
  | 'STOPPED'
  | 'PAUSED'
  | 'RESUMED'
  | 'SUSPENDED'
  | 'CRASHED'
  | 'POSTCOPY_STARTED'
  | 'MIGRATION_COMPLETED'

/** A lifecycle event from the hypervisor: the compute manager's power-state sync consumes these. */
export interface VirtEvent {
  readonly kind: 'lifecycle'
  readonly instanceUuid: string
  readonly transition: VirtLifecycleTransition
  /** ISO timestamp. */
  readonly timestamp: string
}
