import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '../testing/scheduler-fixtures.js'
import { IN_TREE_WEIGHERS } from './in-tree.js'

const agg = (id: number, metadata: Record<string, string>) => ({ id, uuid: `agg-${id}`, name: `agg-${id}`, availabilityZone: null, metadata })

describe('in-tree weighers', () => {
  // Nova `utils.get_weight_multiplier`: each weigher's multiplier may be overridden per aggregate, by the option's name.
  it.each([
    ['RamWeigher', 'ram_weight_multiplier'],
    ['CpuWeigher', 'cpu_weight_multiplier'],
    ['DiskWeigher', 'disk_weight_multiplier'],
    ['IoOpsWeigher', 'io_ops_weight_multiplier'],
    ['NumInstancesWeigher', 'num_instances_weight_multiplier'],
    ['BuildFailureWeigher', 'build_failure_weight_multiplier'],
    ['MetricsWeigher', 'metrics_weight_multiplier'],
    ['ServerGroupSoftAffinityWeigher', 'soft_affinity_weight_multiplier'],
    ['ServerGroupSoftAntiAffinityWeigher', 'soft_anti_affinity_weight_multiplier'],
  ])('%s takes its multiplier from aggregate metadata %s (the lowest value wins)', (name, key) => {
    const weigher = IN_TREE_WEIGHERS.find((w) => w.name === name)
    expect(weigher?.aggregateMultiplierKey).toBe(key)
    const overridden = makeHostState({ host: 'overridden', aggregates: [agg(1, { [key]: '7' }), agg(2, { [key]: '-3.5' }), agg(3, { [key]: 'junk' })] })
    const plain = makeHostState({ host: 'plain' })
    const options = name === 'MetricsWeigher' ? { weightSetting: ['cpu.percent=1'], required: false, weightOfUnavailable: -10000 } : undefined
    // The server-group weighers apply only to a group of their policy.
    const policy = ({ ServerGroupSoftAffinityWeigher: 'soft-affinity', ServerGroupSoftAntiAffinityWeigher: 'soft-anti-affinity' } as const)[name as string]
    const request = makeRequestSpec(policy ? { instanceGroup: { policy } } : {})
    const weighed = runWeigher(weigher as never, [overridden, plain], request, { multiplier: 2, ...(options ? { options } : {}) })
    const multipliers = Object.fromEntries(weighed.map((w) => [w.host.host, w.scores[0]?.multiplier]))
    expect(multipliers).toEqual({ overridden: -3.5, plain: 2 })
  })

  it('covers every in-tree weigher', () => {
    expect(IN_TREE_WEIGHERS.map((w) => w.name).sort()).toEqual([
      'BuildFailureWeigher', 'CpuWeigher', 'DiskWeigher', 'IoOpsWeigher', 'MetricsWeigher', 'NumInstancesWeigher', 'RamWeigher',
      'ServerGroupSoftAffinityWeigher', 'ServerGroupSoftAntiAffinityWeigher',
    ])
  })
})
