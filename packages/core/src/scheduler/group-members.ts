import type { RequestServerGroup } from '../model/request-spec.js'

const sets = new WeakMap<readonly string[], ReadonlySet<string>>()

/**
 * The group's members as a set, built once per members list (filters and weighers ask for every host; the list
 * is immutable while a request is placed, and a new list is a new key).
 */
export function memberSet(group: Pick<RequestServerGroup, 'members'>): ReadonlySet<string> {
  let set = sets.get(group.members)
  if (!set) sets.set(group.members, (set = new Set(group.members)))
  return set
}
