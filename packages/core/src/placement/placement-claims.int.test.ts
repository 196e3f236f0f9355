import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ComputeError } from '../errors/compute-error.js'
import { createTestDatabase, type TestDatabase } from '../testing/test-databases.js'
import { PlacementService } from './placement-service.js'

/*
 * Property: whatever order concurrent claims and releases run in, Placement never allocates beyond capacity, the
 * usage it reports equals the sum of the allocations it accepted, every refusal is a CONFLICT, and the provider
 * generation moved exactly once per accepted change.
 */

type Op = { readonly kind: 'claim'; readonly consumer: number; readonly amount: number } | { readonly kind: 'release'; readonly consumer: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('claim' as const), consumer: fc.integer({ min: 0, max: 7 }), amount: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), consumer: fc.integer({ min: 0, max: 7 }) }) },
)

describe('PlacementService claims under arbitrary interleavings (sqlite)', () => {
  let tdb: TestDatabase
  let placement: PlacementService
  let run = 0

  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite')
    placement = new PlacementService(tdb.db)
  })
  afterAll(async () => {
    await tdb?.destroy()
  })

  it('keeps usage within capacity and consistent with the accepted writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(opArb, { minLength: 1, maxLength: 16 }), fc.scheduler(), async (capacity, ops, s) => {
        run++
        const rp = `00000000-0000-4000-9000-${run.toString(16).padStart(12, '0')}`
        const consumer = (i: number): string => `00000000-0000-4000-a${run.toString(16).padStart(3, '0')}-${i.toString(16).padStart(12, '0')}`
        const start = await placement.syncProviderTree({ uuid: rp, name: `prop-${run}`, inventories: { VCPU: { total: capacity } }, traits: [] })

        // The scheduler releases the calls in an order fast-check picks (and shrinks).
        const claim = s.scheduleFunction(async (c: number, amount: number) => {
          const current = await placement.getAllocations(consumer(c))
          await placement.putAllocations(consumer(c), { allocations: { [rp]: { resources: { VCPU: amount } } }, projectId: 'p', userId: 'u', consumerGeneration: current.consumerGeneration })
        })
        const release = s.scheduleFunction(async (c: number) => placement.removeAllocations(consumer(c)))
        const outcomes = ops.map((op) =>
          (op.kind === 'claim' ? claim(op.consumer, op.amount) : release(op.consumer)).then(
            (value) => ({ ok: true as const, changed: op.kind === 'claim' || value === true }),
            (err: unknown) => ({ ok: false as const, err }),
          ),
        )
        await s.waitAll()
        const results = await Promise.all(outcomes)

        for (const r of results) if (!r.ok) expect(ComputeError.is(r.err, 'CONFLICT')).toBe(true)
        const usage = (await placement.getProviderUsages(rp)).usages['VCPU'] ?? 0
        expect(usage).toBeLessThanOrEqual(capacity)
        let sum = 0
        for (let c = 0; c < 8; c++) sum += (await placement.getAllocations(consumer(c))).allocations[rp]?.resources['VCPU'] ?? 0
        expect(usage).toBe(sum)
        const changes = results.filter((r) => r.ok && r.changed).length
        expect((await placement.getProvider(rp))?.generation).toBe(start.generation + changes)
      }),
      { numRuns: 40 },
    )
  })
})
