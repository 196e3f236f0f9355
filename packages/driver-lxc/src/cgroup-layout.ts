import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Flavor } from '@novum/core'

/** Where a cgroup controller lives on the host: a v1 hierarchy, the cgroup2 tree, or nowhere. */
export type CgroupVersion = 'v1' | 'v2'

/** The host's cgroup layout, as {@link detectCgroupLayout} finds it. */
export interface CgroupLayout {
  /** `legacy`: only v1 hierarchies; `unified`: only cgroup2; `hybrid`: v1 controllers plus a cgroup2 mount. */
  readonly kind: 'legacy' | 'hybrid' | 'unified' | 'none'
  /** Where the cgroup2 tree is mounted, if it is. */
  readonly unifiedMount: string | null
  /** Which hierarchy owns the memory controller, or null when it is not available. */
  readonly memory: CgroupVersion | null
  /** Which hierarchy owns the cpu controller, or null when it is not available. */
  readonly cpu: CgroupVersion | null
}

/** How vCPUs become a CPU limit: relative `shares` (weight), an absolute `quota`, `both`, or `none`. */
export type CpuLimitMode = 'shares' | 'quota' | 'both' | 'none'

/**
 * Reads the cgroup layout from mount lines (the format of `/proc/self/mounts`) and the controllers of the cgroup2
 * root (`cgroup.controllers`). Pure, so any host's layout can be checked; {@link detectCgroupLayout} feeds it the
 * real files. A controller bound to a v1 hierarchy wins over cgroup2, as LXC does on hybrid hosts.
 */
export function parseCgroupLayout(mounts: string, unifiedControllers: string | null): CgroupLayout {
  const v1Controllers = new Set<string>()
  let v1Count = 0
  let unifiedMount: string | null = null
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fsType, options] = line.trim().split(/\s+/)
    if (!mountPoint || !fsType) continue
    if (fsType === 'cgroup') {
      v1Count++
      for (const option of (options ?? '').split(',')) v1Controllers.add(option)
    } else if (fsType === 'cgroup2' && unifiedMount === null) {
      unifiedMount = mountPoint
    }
  }
  const v2Controllers = new Set((unifiedControllers ?? '').split(/\s+/).filter(Boolean))
  const where = (controller: string): CgroupVersion | null =>
    v1Controllers.has(controller) ? 'v1' : unifiedMount !== null && v2Controllers.has(controller) ? 'v2' : null
  const kind = v1Count > 0 ? (unifiedMount !== null ? 'hybrid' : 'legacy') : unifiedMount !== null ? 'unified' : 'none'
  return { kind, unifiedMount, memory: where('memory'), cpu: where('cpu') }
}

/** The layout of this host, from `/proc/self/mounts` and the cgroup2 root's `cgroup.controllers`. */
export function detectCgroupLayout(): CgroupLayout {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
  const first = parseCgroupLayout(mounts, null)
  let controllers: string | null = null
  if (first.unifiedMount !== null) {
    const file = join(first.unifiedMount, 'cgroup.controllers')
    if (existsSync(file)) controllers = readFileSync(file, 'utf8')
  }
  return parseCgroupLayout(mounts, controllers)
}

/** Options of {@link cgroupLimitLines}. */
export interface CgroupLimitOptions {
  /** @default 'shares' */
  readonly cpuLimit?: CpuLimitMode
  /** The CFS period for quotas, in µs. @default 100000 */
  readonly cpuPeriodUs?: number
  /** Write the memory limit. @default true */
  readonly memoryLimit?: boolean
}

const positiveInt = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isInteger(n) && n > 0 ? n : undefined
}

/**
 * The LXC config lines that turn a flavor into cgroup limits on a host with `layout`:
 * - memory: `lxc.cgroup.memory.limit_in_bytes` (v1) or `lxc.cgroup2.memory.max` (v2), the flavor's RAM;
 * - CPU shares: `lxc.cgroup.cpu.shares` = 1024 × vCPUs (v1, as Nova's libvirt driver) or `lxc.cgroup2.cpu.weight`
 *   = 100 × vCPUs (v2, capped at 10000);
 * - CPU quota: `lxc.cgroup.cpu.cfs_quota_us`/`cfs_period_us` (v1) or `lxc.cgroup2.cpu.max` (v2), vCPUs × period.
 *
 * Nova's flavor extra specs `quota:cpu_shares`, `quota:cpu_quota` and `quota:cpu_period` override the computed
 * values. A controller the host lacks gets no line (the caller may log that).
 *
 * @example
 * ```ts
 * cgroupLimitLines({ kind: 'hybrid', unifiedMount: '/sys/fs/cgroup/unified', memory: 'v1', cpu: 'v1' }, flavor)
 * // ['lxc.cgroup.memory.limit_in_bytes = 268435456', 'lxc.cgroup.cpu.shares = 1024']
 * ```
 */
export function cgroupLimitLines(layout: CgroupLayout, flavor: Pick<Flavor, 'vcpus' | 'memoryMb' | 'extraSpecs'>, options: CgroupLimitOptions = {}): string[] {
  const lines: string[] = []
  const specs = flavor.extraSpecs
  if ((options.memoryLimit ?? true) && flavor.memoryMb > 0) {
    const bytes = flavor.memoryMb * 1024 * 1024
    if (layout.memory === 'v1') lines.push(`lxc.cgroup.memory.limit_in_bytes = ${bytes}`)
    else if (layout.memory === 'v2') lines.push(`lxc.cgroup2.memory.max = ${bytes}`)
  }
  const mode = options.cpuLimit ?? 'shares'
  const vcpus = Math.max(1, flavor.vcpus)
  const explicitShares = positiveInt(specs['quota:cpu_shares'])
  const explicitQuota = positiveInt(specs['quota:cpu_quota'])
  const period = positiveInt(specs['quota:cpu_period']) ?? options.cpuPeriodUs ?? 100_000
  if (layout.cpu !== null && (mode === 'shares' || mode === 'both' || explicitShares !== undefined)) {
    if (layout.cpu === 'v1') lines.push(`lxc.cgroup.cpu.shares = ${explicitShares ?? 1024 * vcpus}`)
    else lines.push(`lxc.cgroup2.cpu.weight = ${Math.min(10_000, explicitShares !== undefined ? Math.max(1, Math.round(explicitShares / 10.24)) : 100 * vcpus)}`)
  }
  if (layout.cpu !== null && (mode === 'quota' || mode === 'both' || explicitQuota !== undefined)) {
    const quota = explicitQuota ?? vcpus * period
    if (layout.cpu === 'v1') lines.push(`lxc.cgroup.cpu.cfs_period_us = ${period}`, `lxc.cgroup.cpu.cfs_quota_us = ${quota}`)
    else lines.push(`lxc.cgroup2.cpu.max = ${quota} ${period}`)
  }
  return lines
}
