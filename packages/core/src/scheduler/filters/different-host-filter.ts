import { defineFilter, pass, reject } from '../filter.js'

/** Scheduler hint `different_host`: hosts that run any of the listed instances fail (Nova `DifferentHostFilter`). */
export const DifferentHostFilter = defineFilter({
  name: 'DifferentHostFilter',
  runOncePerRequest: true,
  appliesTo: (request) => (request.schedulerHints['different_host'] ?? []).length > 0,
  filter(host, request) {
    const avoid = request.schedulerHints['different_host'] ?? []
    const found = avoid.filter((u) => host.instanceUuids.includes(u))
    return found.length === 0 ? pass() : reject(`runs different_host instance(s) ${found.join(', ')}`)
  },
})
