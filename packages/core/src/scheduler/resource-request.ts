import { ComputeError } from '../errors/compute-error.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { AllocationCandidatesRequest, RequestGroup } from '../placement/placement-client.js'

/** Options of {@link buildAllocationCandidatesRequest}. */
export interface ResourceRequestOptions {
  /** Placement's `limit` (Nova `[scheduler]max_placement_results`). @default 1000 */
  readonly limit?: number
}

/** The trait Placement carries on the root provider of a disabled compute service. */
export const COMPUTE_STATUS_DISABLED = 'COMPUTE_STATUS_DISABLED'

const RESOURCES = /^resources([a-zA-Z0-9_-]{1,64})?:([A-Z0-9_]+)$/
const TRAIT = /^trait([a-zA-Z0-9_-]{1,64})?:([A-Z0-9_]+)$/

interface MutableGroup {
  resources: Map<string, number>
  required: Set<string>
  forbidden: Set<string>
}

/**
 * Translates a RequestSpec into the Placement query (Nova `ResourceRequest.from_request_spec`):
 * - defaults `VCPU` = vcpus (or `PCPU` with `hw:cpu_policy=dedicated`), `MEMORY_MB` = memory,
 *   `DISK_GB` = root + ephemeral + ceil(swap MB / 1024);
 * - flavor extra specs `resources[S]:RC=N` (N = 0 drops a default class) and `trait[S]:T=required|forbidden`,
 *   `group_policy`; image properties `trait:T=required`; `hw:cpu_thread_policy` → `HW_CPU_HYPERTHREADING`;
 * - zero amounts omitted; `limit` = `max_placement_results`.
 * Request filters then narrow the query (e.g. `ComputeStatusRequestFilter` adds `root_required=!COMPUTE_STATUS_DISABLED`).
 * Malformed extra specs are `ComputeError('INVALID')` naming the key.
 */
export function buildAllocationCandidatesRequest(spec: RequestSpec, options: ResourceRequestOptions = {}): AllocationCandidatesRequest {
  const flavor = spec.flavor
  const extra = flavor.extraSpecs
  const imageProps = spec.image.properties
  const groups = new Map<string, MutableGroup>()
  const group = (suffix: string): MutableGroup => {
    let g = groups.get(suffix)
    if (!g) groups.set(suffix, (g = { resources: new Map(), required: new Set(), forbidden: new Set() }))
    return g
  }
  const unsuffixed = group('')

  const cpuPolicy = extra['hw:cpu_policy'] ?? imageProps['hw_cpu_policy']
  const dedicated = cpuPolicy === 'dedicated'
  if (flavor.vcpus > 0) unsuffixed.resources.set(dedicated ? 'PCPU' : 'VCPU', flavor.vcpus)
  if (flavor.memoryMb > 0) unsuffixed.resources.set('MEMORY_MB', flavor.memoryMb)
  const disk = flavor.rootGb + flavor.ephemeralGb + Math.ceil(flavor.swapMb / 1024)
  if (disk > 0) unsuffixed.resources.set('DISK_GB', disk)
  if (dedicated) {
    const threads = extra['hw:cpu_thread_policy'] ?? imageProps['hw_cpu_thread_policy']
    if (threads === 'isolate') unsuffixed.forbidden.add('HW_CPU_HYPERTHREADING')
    if (threads === 'require') unsuffixed.required.add('HW_CPU_HYPERTHREADING')
  }

  let groupPolicy: 'none' | 'isolate' | undefined
  for (const [key, value] of Object.entries(extra)) {
    const res = RESOURCES.exec(key)
    if (res) {
      const amount = Number(value)
      if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(amount)) throw new ComputeError('INVALID', `invalid extra spec ${key}=${value}: the amount must be a non-negative integer`)
      const g = group(res[1] ?? '')
      const rc = res[2] as string
      // An explicit amount replaces the flavor-derived one; an explicit PCPU/VCPU replaces the other default.
      if (g === unsuffixed && (rc === 'VCPU' || rc === 'PCPU')) unsuffixed.resources.delete(rc === 'VCPU' ? 'PCPU' : 'VCPU')
      g.resources.set(rc, amount)
      continue
    }
    const trait = TRAIT.exec(key)
    if (trait) {
      const g = group(trait[1] ?? '')
      if (value === 'required') g.required.add(trait[2] as string)
      else if (value === 'forbidden') g.forbidden.add(trait[2] as string)
      else throw new ComputeError('INVALID', `invalid extra spec ${key}=${value}: must be "required" or "forbidden"`)
      continue
    }
    if (key === 'group_policy') {
      if (value !== 'none' && value !== 'isolate') throw new ComputeError('INVALID', `invalid extra spec group_policy=${value}: must be "none" or "isolate"`)
      groupPolicy = value
    }
  }
  for (const [key, value] of Object.entries(imageProps)) {
    const trait = TRAIT.exec(key)
    if (trait && !trait[1] && value === 'required') unsuffixed.required.add(trait[2] as string)
  }

  const out: RequestGroup[] = []
  for (const [suffix, g] of groups) {
    const resources = Object.fromEntries([...g.resources].filter(([, n]) => n > 0))
    if (Object.keys(resources).length === 0) {
      if (g.required.size === 0 && g.forbidden.size === 0) continue
      throw new ComputeError('INVALID', `request group "${suffix}" of flavor ${flavor.name} asks for traits but no resources`)
    }
    out.push({
      suffix,
      resources,
      ...(g.required.size ? { requiredTraits: [...g.required].sort() } : {}),
      ...(g.forbidden.size ? { forbiddenTraits: [...g.forbidden].sort() } : {}),
    })
  }
  if (!groupPolicy && out.filter((g) => g.suffix !== '').length > 1) {
    throw new ComputeError('INVALID', `flavor ${flavor.name} has more than one numbered request group but no group_policy extra spec`)
  }
  return {
    groups: out,
    ...(groupPolicy ? { groupPolicy } : {}),
    limit: options.limit ?? 1000,
  }
}
