import type { VirtCapabilities, VirtDriver } from '../virt/virt-driver.js'

/**
 * The driver capabilities a compute service publishes in its compute node `stats`, each under a Nova-style
 * key, because Placement has no `COMPUTE_*` trait for them and the API wants to refuse an action the host's
 * driver cannot do (501) before it changes any state. Values are `'True'`/`'False'`, as Nova's stats are strings.
 *
 * NOTE: Nova has no such keys. Its API casts pause/suspend and only the compute's driver learns that it cannot
 * (`NotImplementedError`, a fault and a reverted task state after a 202). Novum answers 501 instead, as Nova's
 * `pause_server.py` declares; the compute manager still checks, for hosts that have not published the keys.
 */
export const CAPABILITY_STATS = {
  supportsPause: 'supports_pause',
  supportsSuspend: 'supports_suspend',
  supportsConsoleOutput: 'supports_console_output',
} as const satisfies Partial<Record<keyof VirtCapabilities, string>>

/** A capability published through {@link CAPABILITY_STATS}. */
export type PublishedCapability = keyof typeof CAPABILITY_STATS

/** The optional driver methods each published capability promises. */
const METHODS_OF: Readonly<Record<PublishedCapability, readonly (keyof VirtDriver)[]>> = {
  supportsPause: ['pause', 'unpause'],
  supportsSuspend: ['suspend', 'resume'],
  supportsConsoleOutput: ['getConsoleOutput'],
}

/** True when the driver declares the capability and implements every method it promises. */
export function driverSupports(driver: VirtDriver, capability: PublishedCapability): boolean {
  return driver.capabilities[capability] === true && METHODS_OF[capability].every((m) => typeof driver[m] === 'function')
}

/** The stats entries a compute service adds for its driver (see {@link CAPABILITY_STATS}). */
export function capabilityStats(driver: VirtDriver): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [capability, key] of Object.entries(CAPABILITY_STATS) as [PublishedCapability, string][]) {
    out[key] = driverSupports(driver, capability) ? 'True' : 'False'
  }
  return out
}

/**
 * What a compute node's stats say about a capability: true or false when published, undefined when the node
 * has not said (an older compute service, or none yet); callers then let the compute service decide.
 */
export function statsSupport(stats: Readonly<Record<string, unknown>>, capability: PublishedCapability): boolean | undefined {
  const value = stats[CAPABILITY_STATS[capability]]
  if (value === undefined || value === null) return undefined
  return String(value) === 'True'
}
