import { describe, expect, it } from 'vitest'
import { makeHostState, makeRequestSpec, runWeigher } from '@novum/core/testing'
import { AcmeCostWeigher } from './acme-cost-weigher.js'

const hosts = [makeHostState({ host: 'pricey' }), makeHostState({ host: 'cheap' }), makeHostState({ host: 'average' })]
const options = { hourlyCost: { pricey: 3, cheap: 0.5 }, defaultCost: 1 }

describe(AcmeCostWeigher.name, () => {
  it.each([
    { multiplier: 1, order: ['cheap', 'average', 'pricey'] },
    { multiplier: -1, order: ['pricey', 'average', 'cheap'] },
  ])('multiplier $multiplier → $order', ({ multiplier, order }) => {
    expect(runWeigher(AcmeCostWeigher, hosts, makeRequestSpec(), { options, multiplier }).map((w) => w.host.host)).toEqual(order)
  })

  it('normalises the negated costs to 0–1', () => {
    const scores = runWeigher(AcmeCostWeigher, hosts, makeRequestSpec(), { options }).map((w) => [w.host.host, w.scores[0]?.raw, w.scores[0]?.normalized])
    expect(scores).toEqual([['cheap', -0.5, 1], ['average', -1, 0.8], ['pricey', -3, 0]])
  })

  it('takes the multiplier of the host’s aggregates when set', () => {
    const cheapButIgnored = makeHostState({ host: 'cheap', aggregates: [{ id: 1, uuid: 'a', name: 'a', availabilityZone: null, metadata: { acme_cost_weight_multiplier: '0' } }] })
    const weighed = runWeigher(AcmeCostWeigher, [cheapButIgnored, makeHostState({ host: 'average' })], makeRequestSpec(), { options })
    expect(weighed.map((w) => [w.host.host, w.scores[0]?.multiplier])).toEqual([['cheap', 0], ['average', 1]])
  })
})
