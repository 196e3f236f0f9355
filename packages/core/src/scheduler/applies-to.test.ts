import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { HostAggregate } from '../model/host-state.js'
import { appliesToViolations, makeHostState, makeRequestSpec } from '../testing/scheduler-fixtures.js'
import { IN_TREE_FILTERS, IN_TREE_WEIGHERS } from './in-tree.js'
import type { AnyHostFilter, AnyHostWeigher } from './registry.js'

// The in-tree plugins that can say "not applicable": the scheduler skips them then, so each must pass every host
// (filters) or weigh every host the same (weighers) whenever it says so. Checked over generated requests and hosts.
const plugins = ([...IN_TREE_FILTERS, ...IN_TREE_WEIGHERS] as (AnyHostFilter | AnyHostWeigher)[]).filter((p) => p.appliesTo)

const members = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-000000000001']
const word = fc.constantFrom('x86_64', 'aarch64', 'qemu', 'hvm', 'ssd', 'true', '1', 'az1', 'nova', '')
const extraSpecKey = fc.constantFrom(
  'hw:cpu_policy', 'capabilities:cpu_info:arch', 'capabilities:hypervisor_type', 'aggregate_instance_extra_specs:ssd', 'ssd', 'free_ram_mb',
  'trait:HW_CPU_X86_AVX2', 'resources:VCPU', 'quota:cpu_shares', 'hypervisor_type',
)
const imageKey = fc.constantFrom('hw_architecture', 'architecture', 'img_hv_type', 'hypervisor_type', 'hw_vm_mode', 'vm_mode', 'img_hv_requested_version', 'os_distro')
const group = fc.record({
  policy: fc.constantFrom('affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'),
  hosts: fc.subarray(['h0', 'h1', 'h2']),
  members: fc.subarray(members),
  rules: fc.constantFrom({}, { max_server_per_host: 2 }),
})
const request = fc.record({
  flavor: fc.record({ extraSpecs: fc.dictionary(extraSpecKey, word, { maxKeys: 3 }) }),
  image: fc.record({ properties: fc.dictionary(imageKey, word, { maxKeys: 3 }) }),
  availabilityZone: fc.option(fc.constantFrom('az1', 'nova'), { nil: null }),
  instanceGroup: fc.option(group, { nil: null }),
  schedulerHints: fc.record({ same_host: fc.subarray(members), different_host: fc.subarray(members) }, { requiredKeys: [] }),
})
const aggregate = fc.record({
  metadata: fc.dictionary(fc.constantFrom('availability_zone', 'ssd', 'filter_tenant_id', 'ram_weight_multiplier'), fc.constantFrom('az1', 'true', 'project-1', '2')),
})
const host = fc.record({
  freeRamMb: fc.integer({ min: 0, max: 65_536 }),
  numIoOps: fc.integer({ min: 0, max: 20 }),
  failedBuilds: fc.integer({ min: 0, max: 3 }),
  instanceUuids: fc.subarray(members),
  supportedInstances: fc.constantFrom([['x86_64', 'qemu', 'hvm']], [['aarch64', 'kvm', 'hvm']], []),
  stats: fc.dictionary(fc.constantFrom('ssd', 'free_ram_mb'), word, { maxKeys: 2 }),
  metrics: fc.dictionary(fc.constantFrom('cpu.percent', 'cpu.frequency'), fc.integer({ min: 0, max: 100 }), { maxKeys: 2 }),
  aggregates: fc.array(aggregate, { maxLength: 2 }),
})

describe('appliesTo of the in-tree plugins', () => {
  it('covers the plugins the scheduler skips most often', () => {
    expect(plugins.map((p) => p.name)).toEqual(
      expect.arrayContaining(['ComputeCapabilitiesFilter', 'ImagePropertiesFilter', 'ServerGroupAffinityFilter', 'ServerGroupAntiAffinityFilter', 'ServerGroupSoftAffinityWeigher', 'ServerGroupSoftAntiAffinityWeigher', 'MetricsWeigher']),
    )
  })

  it.each(plugins.map((p) => [p.name, p] as const))('%s: when it does not apply, every host passes or weighs the same', (_name, plugin) => {
    fc.assert(
      fc.property(request, fc.array(host, { minLength: 2, maxLength: 4 }), (req, hs) => {
        const spec = makeRequestSpec(req as Parameters<typeof makeRequestSpec>[0])
        const hosts = hs.map((h, i) =>
          makeHostState({
            ...h,
            host: `h${i}`,
            aggregates: h.aggregates.map((a, k): HostAggregate => ({ id: k + 1, uuid: `agg-${k}`, name: `agg-${k}`, availabilityZone: a.metadata['availability_zone'] ?? null, metadata: a.metadata })),
          } as Parameters<typeof makeHostState>[0]),
        )
        expect(appliesToViolations(plugin, hosts, spec, { options: { ...(plugin.defaultOptions ?? {}), required: false } })).toEqual([])
      }),
      { numRuns: 300 },
    )
  })
})

describe('weighAll of the in-tree weighers', () => {
  const batched = IN_TREE_WEIGHERS.filter((w) => (w as AnyHostWeigher).weighAll) as AnyHostWeigher[]

  it('covers the default weighers without options', () => {
    expect(batched.map((w) => w.name)).toEqual(expect.arrayContaining(['RamWeigher', 'CpuWeigher', 'DiskWeigher', 'IoOpsWeigher', 'BuildFailureWeigher']))
  })

  it.each(batched.map((w) => [w.name, w] as const))('%s: weighAll gives what weigh gives, host by host', (_name, weigher) => {
    fc.assert(
      fc.property(request, fc.array(host, { minLength: 1, maxLength: 6 }), (req, hs) => {
        const spec = makeRequestSpec(req as Parameters<typeof makeRequestSpec>[0])
        const hosts = hs.map((h, i) => makeHostState({ ...h, host: `h${i}`, aggregates: [] } as Parameters<typeof makeHostState>[0]))
        const ctx = { options: weigher.defaultOptions, state: undefined, instanceUuid: null, instanceIndex: 0 }
        const out = new Float64Array(hosts.length)
        weigher.weighAll?.(hosts, spec, ctx, out)
        expect([...out]).toEqual(hosts.map((h) => weigher.weigh(h, spec, ctx)))
      }),
      { numRuns: 200 },
    )
  })
})
