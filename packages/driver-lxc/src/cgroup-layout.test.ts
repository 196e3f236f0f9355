import { describe, expect, it } from 'vitest'
import { cgroupLimitLines, detectCgroupLayout, parseCgroupLayout, type CgroupLayout } from './cgroup-layout.js'

const HYBRID = `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`
const UNIFIED = `proc /proc proc rw 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0
`
const LEGACY = `cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,memory 0 0
`

const v1: CgroupLayout = { kind: 'hybrid', unifiedMount: '/sys/fs/cgroup/unified', memory: 'v1', cpu: 'v1' }
const v2: CgroupLayout = { kind: 'unified', unifiedMount: '/sys/fs/cgroup', memory: 'v2', cpu: 'v2' }
const flavor = (vcpus: number, memoryMb: number, extraSpecs: Record<string, string> = {}) => ({ vcpus, memoryMb, extraSpecs })

describe(parseCgroupLayout.name, () => {
  it.each([
    { name: 'hybrid (v1 controllers, cgroup2 with hugetlb only)', mounts: HYBRID, controllers: 'hugetlb\n', expected: v1 },
    { name: 'unified', mounts: UNIFIED, controllers: 'cpuset cpu io memory hugetlb pids\n', expected: v2 },
    { name: 'legacy with co-mounted cpu,cpuacct', mounts: LEGACY, controllers: null, expected: { kind: 'legacy', unifiedMount: null, memory: 'v1', cpu: 'v1' } },
    { name: 'unified without delegated controllers', mounts: UNIFIED, controllers: '', expected: { kind: 'unified', unifiedMount: '/sys/fs/cgroup', memory: null, cpu: null } },
    { name: 'none', mounts: 'proc /proc proc rw 0 0\n', controllers: null, expected: { kind: 'none', unifiedMount: null, memory: null, cpu: null } },
  ])('$name', ({ mounts, controllers, expected }) => {
    expect(parseCgroupLayout(mounts, controllers)).toEqual(expected)
  })

  it('reads a layout of this host that names a hierarchy for memory', () => {
    const layout = detectCgroupLayout()
    expect(['legacy', 'hybrid', 'unified', 'none']).toContain(layout.kind)
    if (layout.kind !== 'none') expect(layout.unifiedMount !== null || layout.memory === 'v1').toBe(true)
  })
})

describe(cgroupLimitLines.name, () => {
  it.each([
    { layout: v1, mode: 'shares' as const, expected: ['lxc.cgroup.memory.limit_in_bytes = 268435456', 'lxc.cgroup.cpu.shares = 2048'] },
    { layout: v1, mode: 'quota' as const, expected: ['lxc.cgroup.memory.limit_in_bytes = 268435456', 'lxc.cgroup.cpu.cfs_period_us = 100000', 'lxc.cgroup.cpu.cfs_quota_us = 200000'] },
    { layout: v2, mode: 'shares' as const, expected: ['lxc.cgroup2.memory.max = 268435456', 'lxc.cgroup2.cpu.weight = 200'] },
    { layout: v2, mode: 'both' as const, expected: ['lxc.cgroup2.memory.max = 268435456', 'lxc.cgroup2.cpu.weight = 200', 'lxc.cgroup2.cpu.max = 200000 100000'] },
    { layout: v2, mode: 'none' as const, expected: ['lxc.cgroup2.memory.max = 268435456'] },
  ])('$layout.kind, cpu $mode → $expected', ({ layout, mode, expected }) => {
    expect(cgroupLimitLines(layout, flavor(2, 256), { cpuLimit: mode })).toEqual(expected)
  })

  it("lets Nova's quota:cpu_* extra specs override the computed values", () => {
    const lines = cgroupLimitLines(v1, flavor(4, 512, { 'quota:cpu_shares': '300', 'quota:cpu_quota': '50000', 'quota:cpu_period': '200000' }), { cpuLimit: 'none' })
    expect(lines).toEqual(['lxc.cgroup.memory.limit_in_bytes = 536870912', 'lxc.cgroup.cpu.shares = 300', 'lxc.cgroup.cpu.cfs_period_us = 200000', 'lxc.cgroup.cpu.cfs_quota_us = 50000'])
  })

  it('writes nothing for controllers the host lacks, nor a memory limit when disabled', () => {
    expect(cgroupLimitLines({ kind: 'none', unifiedMount: null, memory: null, cpu: null }, flavor(1, 128))).toEqual([])
    expect(cgroupLimitLines(v1, flavor(1, 128), { memoryLimit: false })).toEqual(['lxc.cgroup.cpu.shares = 1024'])
  })

  it('caps the cgroup2 weight at 10000', () => {
    expect(cgroupLimitLines(v2, flavor(200, 64), { cpuLimit: 'shares', memoryLimit: false })).toEqual(['lxc.cgroup2.cpu.weight = 10000'])
  })
})
