import { describe, expect, it } from 'vitest'
import { summarizeRejections } from './explanation.js'

describe(summarizeRejections.name, () => {
  it('groups filters by name and Placement by reason, largest group first', () => {
    const rejections = [
      ...Array.from({ length: 5 }, () => ({ by: 'Placement', summary: 'too little MEMORY_MB', reason: 'x' })),
      ...Array.from({ length: 7 }, () => ({ by: 'ComputeFilter', summary: 'ComputeFilter', reason: 'disabled' })),
    ]
    expect(summarizeRejections(12, rejections)).toBe('0 of 12 hosts: 7 rejected by ComputeFilter (disabled), 5 had too little MEMORY_MB in Placement')
  })

  it('lists up to three distinct reasons per filter', () => {
    const rejections = ['a', 'b', 'a', 'c', 'd'].map((reason) => ({ by: 'F', summary: 'F', reason }))
    expect(summarizeRejections(5, rejections)).toBe('0 of 5 hosts: 5 rejected by F (a; b; c; …)')
  })

  it('says how many instances were placed before the hosts ran out', () => {
    expect(summarizeRejections(2, [{ by: 'F', summary: 'F', reason: 'r' }], { placed: 1, requested: 3 })).toBe('placed 1 of 3 instances before running out of hosts; then 0 of 2 hosts: 1 rejected by F (r)')
    expect(summarizeRejections(0, [])).toBe('0 of 0 hosts')
  })
})
