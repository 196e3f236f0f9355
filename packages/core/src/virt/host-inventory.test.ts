import { describe, expect, it } from 'vitest'
import { setHostInventories } from './host-inventory.js'
import type { ProviderTreeUpdate } from './virt-driver.js'

const tree = (inventories: ProviderTreeUpdate['inventories'] = {}): ProviderTreeUpdate => ({ inventories, traits: [] })

describe(setHostInventories.name, () => {
  it("reports the host's capacity with Nova's defaults: 512 MB reserved, initial ratios 16 / 1.5 / 1", () => {
    const t = tree()
    setHostInventories(t, { vcpus: 8, memoryMb: 16384, diskGb: 100 }, {})
    expect(t.inventories).toEqual({
      VCPU: { total: 8, reserved: 0, minUnit: 1, maxUnit: 8, stepSize: 1, allocationRatio: 16 },
      MEMORY_MB: { total: 16384, reserved: 512, minUnit: 1, maxUnit: 16384, stepSize: 1, allocationRatio: 1.5 },
      DISK_GB: { total: 100, reserved: 0, minUnit: 1, maxUnit: 100, stepSize: 1, allocationRatio: 1 },
    })
  })

  it('keeps a ratio the tree already has unless one is set explicitly, and caps reserved at the total', () => {
    const t = tree({ VCPU: { total: 8, reserved: 0, minUnit: 1, maxUnit: 8, stepSize: 1, allocationRatio: 4 }, MEMORY_MB: { total: 1, reserved: 0, minUnit: 1, maxUnit: 1, stepSize: 1, allocationRatio: 2 } })
    setHostInventories(t, { vcpus: 8, memoryMb: 256, diskGb: 10 }, { allocationRatios: { ram: 1 }, reservedHostCpus: 20 })
    expect(t.inventories['VCPU']).toMatchObject({ allocationRatio: 4, reserved: 8 })
    expect(t.inventories['MEMORY_MB']).toMatchObject({ allocationRatio: 1, reserved: 256 })
  })
})
