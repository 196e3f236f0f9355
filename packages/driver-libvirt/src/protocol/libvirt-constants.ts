/**
 * The flags and enums of libvirt's public API that travel in the protocol's `int`/`unsigned int` fields, with the
 * values of `include/libvirt/libvirt-domain.h` (libvirt 9.0.0). Only the ones this package uses.
 */

/** `virDomainState`. */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  /** being shut down */
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const

/** `virDomainEventType`: the `event` of a lifecycle event. */
export const DomainEventType = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const

/** `virDomainEventSuspendedDetailType`. */
export const DomainEventSuspendedDetail = { PAUSED: 0, MIGRATED: 1, IOERROR: 2, WATCHDOG: 3, RESTORED: 4, FROM_SNAPSHOT: 5, API_ERROR: 6, POSTCOPY: 7, POSTCOPY_FAILED: 8 } as const

/** `virDomainEventStoppedDetailType`. */
export const DomainEventStoppedDetail = { SHUTDOWN: 0, DESTROYED: 1, CRASHED: 2, MIGRATED: 3, SAVED: 4, FAILED: 5, FROM_SNAPSHOT: 6 } as const

/** `virDomainEventID`. */
export const DomainEventId = { LIFECYCLE: 0, REBOOT: 1, DEVICE_REMOVED: 15 } as const

/** `virDomainModificationImpact` (also `virDomainDeviceModifyFlags`, `virDomainVcpuFlags`, `virDomainMemoryModFlags`). */
export const DomainAffect = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const

/** `virDomainUndefineFlagsValues`. */
export const DomainUndefineFlags = { MANAGED_SAVE: 1, SNAPSHOTS_METADATA: 2, NVRAM: 4, KEEP_NVRAM: 8, CHECKPOINTS_METADATA: 16, TPM: 32, KEEP_TPM: 64 } as const

/** `virDomainDefineFlags`. */
export const DomainDefineFlags = { VALIDATE: 1 } as const

/** `virDomainCreateFlags`. */
export const DomainCreateFlags = { NONE: 0, START_PAUSED: 1, START_AUTODESTROY: 2, START_BYPASS_CACHE: 4, START_FORCE_BOOT: 8, START_VALIDATE: 16 } as const

/** `virDomainSaveRestoreFlags`. */
export const DomainSaveFlags = { BYPASS_CACHE: 1, RUNNING: 2, PAUSED: 4 } as const

/** `virDomainShutdownFlagValues`. */
export const DomainShutdownFlags = { DEFAULT: 0, ACPI_POWER_BTN: 1, GUEST_AGENT: 2 } as const

/** `virDomainXMLFlags`. */
export const DomainXmlFlags = { SECURE: 1, INACTIVE: 2, UPDATE_CPU: 4, MIGRATABLE: 8 } as const

/** `virConnectListAllDomainsFlags` (the ones used). */
export const ConnectListDomainsFlags = { ACTIVE: 1, INACTIVE: 2, PERSISTENT: 4 } as const

/** `virShutoffReason`. */
export const DomainShutoffReason = { UNKNOWN: 0, SHUTDOWN: 1, DESTROYED: 2, CRASHED: 3, MIGRATED: 4, SAVED: 5, FAILED: 6, FROM_SNAPSHOT: 7, DAEMON: 8 } as const

/** `virConnectFlags`. */
export const ConnectFlags = { RO: 1 } as const

/** The names of {@link DomainState}'s values, as `virsh domstate` prints them. */
export const DOMAIN_STATE_NAMES: Readonly<Record<number, string>> = {
  0: 'no state',
  1: 'running',
  2: 'idle',
  3: 'paused',
  4: 'in shutdown',
  5: 'shut off',
  6: 'crashed',
  7: 'pmsuspended',
}
