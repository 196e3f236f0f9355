import { defineFilter, pass, reject } from '../filter.js'

/** Scheduler hint `same_host`: only hosts that run at least one of the listed instances pass (Nova `SameHostFilter`). */
export const SameHostFilter = defineFilter({
  name: 'SameHostFilter',
  runOncePerRequest: true,
  appliesTo: (request) => (request.schedulerHints['same_host'] ?? []).length > 0,
  filter(host, request) {
    const wanted = request.schedulerHints['same_host'] ?? []
    if (wanted.length === 0) return pass()
    return wanted.some((u) => host.instanceUuids.includes(u)) ? pass() : reject(`runs none of the same_host instances ${wanted.join(', ')}`)
  },
})
