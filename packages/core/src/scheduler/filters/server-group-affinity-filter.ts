import { defineFilter, pass, reject } from '../filter.js'

/**
 * Hard affinity (Nova `ServerGroupAffinityFilter`): for a group with policy `affinity` that already runs on some
 * hosts, only those hosts pass; the group's first member may go anywhere. The scheduler adds each chosen host to
 * `request.instanceGroup.hosts` while it places a multi-create, so the filter runs for every instance.
 */
export const ServerGroupAffinityFilter = defineFilter({
  name: 'ServerGroupAffinityFilter',
  appliesTo: (request) => request.instanceGroup?.policy === 'affinity' && request.instanceGroup.hosts.length > 0,
  filter(host, request) {
    const group = request.instanceGroup
    if (!group || group.policy !== 'affinity' || group.hosts.length === 0) return pass()
    if (group.hosts.includes(host.host)) return pass()
    return reject(`server group ${group.uuid} (affinity) runs on ${[...new Set(group.hosts)].join(', ')}, not on ${host.host}`)
  },
})
