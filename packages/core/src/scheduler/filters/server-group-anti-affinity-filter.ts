import { defineFilter, pass, reject } from '../filter.js'
import { memberSet } from '../group-members.js'

/**
 * Hard anti-affinity (Nova `ServerGroupAntiAffinityFilter`): for a group with policy `anti-affinity`, a host passes
 * while it runs fewer of the group's members than the group's `max_server_per_host` rule (default 1). A host that
 * already runs the instance being placed passes (a move must not rule out its source).
 */
export const ServerGroupAntiAffinityFilter = defineFilter({
  name: 'ServerGroupAntiAffinityFilter',
  appliesTo: (request) => request.instanceGroup?.policy === 'anti-affinity',
  filter(host, request, { instanceUuid }) {
    const group = request.instanceGroup
    if (!group || group.policy !== 'anti-affinity') return pass()
    if (instanceUuid !== null && host.instanceUuids.includes(instanceUuid)) return pass()
    const members = memberSet(group)
    const onHost = host.instanceUuids.filter((u) => members.has(u)).length
    const max = group.rules['max_server_per_host'] ?? 1
    if (onHost < max) return pass()
    return reject(`server group ${group.uuid} (anti-affinity) already has ${onHost} member(s) on the host, max_server_per_host is ${max}`)
  },
})
