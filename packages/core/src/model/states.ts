/** Stable, user-visible intent of an instance (Nova `vm_states`). */
export const VmState = {
  ACTIVE: 'active',
  BUILDING: 'building',
  PAUSED: 'paused',
  SUSPENDED: 'suspended',
  STOPPED: 'stopped',
  RESCUED: 'rescued',
  RESIZED: 'resized',
  SOFT_DELETED: 'soft-delete',
  DELETED: 'deleted',
  ERROR: 'error',
  SHELVED: 'shelved',
  SHELVED_OFFLOADED: 'shelved_offloaded',
} as const
/** One of {@link VmState}'s values. */
export type VmState = (typeof VmState)[keyof typeof VmState]

/** The operation in flight on an instance, or null when idle (Nova `task_states`). */
export const TaskState = {
  SCHEDULING: 'scheduling',
  BLOCK_DEVICE_MAPPING: 'block_device_mapping',
  NETWORKING: 'networking',
  SPAWNING: 'spawning',
  IMAGE_SNAPSHOT: 'image_snapshot',
  IMAGE_SNAPSHOT_PENDING: 'image_snapshot_pending',
  IMAGE_PENDING_UPLOAD: 'image_pending_upload',
  IMAGE_UPLOADING: 'image_uploading',
  IMAGE_BACKUP: 'image_backup',
  UPDATING_PASSWORD: 'updating_password',
  RESIZE_PREP: 'resize_prep',
  RESIZE_MIGRATING: 'resize_migrating',
  RESIZE_MIGRATED: 'resize_migrated',
  RESIZE_FINISH: 'resize_finish',
  RESIZE_REVERTING: 'resize_reverting',
  RESIZE_CONFIRMING: 'resize_confirming',
  REBOOTING: 'rebooting',
  REBOOT_PENDING: 'reboot_pending',
  REBOOT_STARTED: 'reboot_started',
  REBOOTING_HARD: 'rebooting_hard',
  REBOOT_PENDING_HARD: 'reboot_pending_hard',
  REBOOT_STARTED_HARD: 'reboot_started_hard',
  PAUSING: 'pausing',
  UNPAUSING: 'unpausing',
  SUSPENDING: 'suspending',
  RESUMING: 'resuming',
  POWERING_OFF: 'powering-off',
  POWERING_ON: 'powering-on',
  RESCUING: 'rescuing',
  UNRESCUING: 'unrescuing',
  REBUILDING: 'rebuilding',
  REBUILD_BLOCK_DEVICE_MAPPING: 'rebuild_block_device_mapping',
  REBUILD_SPAWNING: 'rebuild_spawning',
  MIGRATING: 'migrating',
  DELETING: 'deleting',
  SOFT_DELETING: 'soft-deleting',
  RESTORING: 'restoring',
  SHELVING: 'shelving',
  SHELVING_IMAGE_PENDING_UPLOAD: 'shelving_image_pending_upload',
  SHELVING_IMAGE_UPLOADING: 'shelving_image_uploading',
  SHELVING_OFFLOADING: 'shelving_offloading',
  UNSHELVING: 'unshelving',
} as const
/** One of {@link TaskState}'s values. */
export type TaskState = (typeof TaskState)[keyof typeof TaskState]

/** The hypervisor's view of a guest, as Nova's integer codes (the hypervisor is authoritative). */
export const PowerState = {
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const
/** One of {@link PowerState}'s values. */
export type PowerState = (typeof PowerState)[keyof typeof PowerState]

/** The strings Nova's versioned notifications use for power states. */
export const POWER_STATE_NAMES: Readonly<Record<PowerState, string>> = {
  0: 'pending',
  1: 'running',
  3: 'paused',
  4: 'shutdown',
  6: 'crashed',
  7: 'suspended',
}

const REBOOT = new Set<string>(['rebooting', 'reboot_pending', 'reboot_started'])
const HARD_REBOOT = new Set<string>(['rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard'])
const REBUILD = new Set<string>(['rebuilding', 'rebuild_block_device_mapping', 'rebuild_spawning'])
const RESIZE = new Set<string>(['resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish'])

/**
 * The API `status` of a server from its vm_state and task_state, exactly as Nova's `_STATE_MAP`
 * (nova/api/openstack/common.py).
 */
export function serverStatus(vmState: string, taskState: string | null): string {
  const t = taskState ?? ''
  switch (vmState) {
    case 'active':
      if (REBOOT.has(t)) return 'REBOOT'
      if (HARD_REBOOT.has(t)) return 'HARD_REBOOT'
      if (t === 'updating_password') return 'PASSWORD'
      if (REBUILD.has(t)) return 'REBUILD'
      if (t === 'migrating') return 'MIGRATING'
      if (RESIZE.has(t)) return 'RESIZE'
      return 'ACTIVE'
    case 'building':
      return 'BUILD'
    case 'stopped':
      if (RESIZE.has(t)) return 'RESIZE'
      if (REBUILD.has(t)) return 'REBUILD'
      return 'SHUTOFF'
    case 'resized':
      return t === 'resize_reverting' ? 'REVERT_RESIZE' : 'VERIFY_RESIZE'
    case 'paused':
      return t === 'migrating' ? 'MIGRATING' : 'PAUSED'
    case 'suspended':
      return 'SUSPENDED'
    case 'rescued':
      return 'RESCUE'
    case 'error':
      return REBUILD.has(t) ? 'REBUILD' : 'ERROR'
    case 'deleted':
      return 'DELETED'
    case 'soft-delete':
      return 'SOFT_DELETED'
    case 'shelved':
      return 'SHELVED'
    case 'shelved_offloaded':
      return 'SHELVED_OFFLOADED'
    default:
      return 'UNKNOWN'
  }
}

/** Every API status, with the vm_states that produce it by default (used by the `status` list filter). */
export const STATUS_TO_VM_STATES: Readonly<Record<string, readonly string[]>> = {
  ACTIVE: ['active'],
  BUILD: ['building'],
  SHUTOFF: ['stopped'],
  VERIFY_RESIZE: ['resized'],
  PAUSED: ['paused'],
  SUSPENDED: ['suspended'],
  RESCUE: ['rescued'],
  ERROR: ['error'],
  DELETED: ['deleted'],
  SOFT_DELETED: ['soft-delete'],
  SHELVED: ['shelved'],
  SHELVED_OFFLOADED: ['shelved_offloaded'],
  REBOOT: ['active'],
  HARD_REBOOT: ['active'],
  PASSWORD: ['active'],
  REBUILD: ['active', 'stopped', 'error'],
  MIGRATING: ['active', 'paused'],
  RESIZE: ['active', 'stopped'],
  REVERT_RESIZE: ['resized'],
}
