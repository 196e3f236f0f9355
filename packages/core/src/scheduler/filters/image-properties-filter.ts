import type { HostState } from '../../model/host-state.js'
import type { RequestSpec } from '../../model/request-spec.js'
import { defineFilter, pass, reject } from '../filter.js'

/** Options of {@link ImagePropertiesFilter}. */
export interface ImagePropertiesFilterOptions {
  /** The architecture assumed for images without `hw_architecture` (Nova `image_properties_default_architecture`). */
  readonly defaultArchitecture?: string
}

const ARCH_ALIASES: Readonly<Record<string, string>> = { i386: 'i686', i486: 'i686', i586: 'i686', x86_32: 'i686', x86_32p: 'i686', amd64: 'x86_64', arm64: 'aarch64' }
const HV_ALIASES: Readonly<Record<string, string>> = { xapi: 'xen' }
const VM_MODE_ALIASES: Readonly<Record<string, string>> = { pv: 'xen', hv: 'hvm', baremetal: 'hvm' }

const canonical = (value: string | undefined, aliases: Readonly<Record<string, string>>): string | undefined => {
  if (value === undefined || value === '') return undefined
  const lower = value.toLowerCase()
  return aliases[lower] ?? lower
}

/** Nova encodes hypervisor versions as `major × 1e6 + minor × 1e3 + micro`. */
function versionParts(version: number): number[] {
  return [Math.floor(version / 1_000_000), Math.floor(version / 1_000) % 1_000, version % 1_000]
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/** True when `version` satisfies a predicate such as `>=6.0` or `>= 6.0, < 7` (clauses ANDed). */
export function satisfiesVersion(version: number, predicate: string): boolean {
  const have = versionParts(version)
  for (const clause of predicate.split(',').map((c) => c.trim()).filter(Boolean)) {
    const m = /^(<=|>=|==|!=|<|>)?\s*(\d+(?:\.\d+)*)$/.exec(clause)
    if (!m) return false
    const cmp = compareVersions(have, (m[2] as string).split('.').map(Number))
    const ok = { '<': cmp < 0, '<=': cmp <= 0, '>': cmp > 0, '>=': cmp >= 0, '==': cmp === 0, '!=': cmp !== 0 }[m[1] ?? '=='] as boolean
    if (!ok) return false
  }
  return true
}

/** What the image asks of a host's supported-instance tuples: canonical architecture, hypervisor type, vm mode. */
function wantedBy(request: RequestSpec, options: ImagePropertiesFilterOptions | undefined): [arch: string | undefined, hvType: string | undefined, vmMode: string | undefined] {
  const props = request.image.properties
  return [
    canonical(props['hw_architecture'] ?? props['architecture'] ?? options?.defaultArchitecture, ARCH_ALIASES),
    canonical(props['img_hv_type'] ?? props['hypervisor_type'], HV_ALIASES),
    canonical(props['hw_vm_mode'] ?? props['vm_mode'], VM_MODE_ALIASES),
  ]
}

function supports(host: HostState, wanted: readonly (string | undefined)[]): boolean {
  return host.supportedInstances.some((tuple) => wanted.every((w, i) => w === undefined || (tuple[i] ?? '').toLowerCase() === w))
}

/**
 * Matches image properties with what the host can run (Nova `ImagePropertiesFilter`): the image's
 * `hw_architecture`, `img_hv_type` and `hw_vm_mode` (or their legacy names) must appear together in one of the
 * host's supported-instance tuples, and `img_hv_requested_version` must match the hypervisor version. An image
 * with none of these properties passes everywhere. Runs once per request and on rebuild.
 */
export const ImagePropertiesFilter = defineFilter<ImagePropertiesFilterOptions>({
  name: 'ImagePropertiesFilter',
  runOncePerRequest: true,
  runOnRebuild: true,
  optionsSchema: { type: 'object', properties: { defaultArchitecture: { type: 'string', minLength: 1 } }, additionalProperties: false },
  defaultOptions: {},
  appliesTo: (request, { options }) => wantedBy(request, options).some((w) => w !== undefined),
  filter(host, request, { options }) {
    const props = request.image.properties
    const wanted = wantedBy(request, options)
    const [arch, hvType, vmMode] = wanted
    if (wanted.every((w) => w === undefined)) return pass()
    const described = `architecture ${arch ?? 'any'}, hypervisor ${hvType ?? 'any'}, vm mode ${vmMode ?? 'any'}`
    if (host.supportedInstances.length === 0) return reject(`image wants ${described}, host reports no supported instances`)
    if (!supports(host, wanted)) {
      return reject(`image wants ${described}, host supports ${host.supportedInstances.map((t) => `(${t.join(', ')})`).join(', ')}`)
    }
    const required = props['img_hv_requested_version'] ?? props['hypervisor_version_requires']
    if (required && host.hypervisorVersion && !satisfiesVersion(host.hypervisorVersion, required)) {
      return reject(`image wants hypervisor version ${required}, host has ${versionParts(host.hypervisorVersion).join('.')}`)
    }
    return pass()
  },
})
