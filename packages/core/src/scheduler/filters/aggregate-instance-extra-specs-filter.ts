import { matchExtraSpec } from '../extra-specs-ops.js'
import { defineFilter, pass, reject } from '../filter.js'

const SCOPE = 'aggregate_instance_extra_specs'

/**
 * Matches flavor extra specs with the metadata of the host's aggregates (Nova
 * `AggregateInstanceExtraSpecsFilter`): every extra spec that is unscoped or scoped `aggregate_instance_extra_specs:`
 * needs a value of that key in one of the host's aggregates that matches it (extra-spec operators apply); a key no
 * aggregate of the host has fails the host. Runs once per request.
 */
export const AggregateInstanceExtraSpecsFilter = defineFilter({
  name: 'AggregateInstanceExtraSpecsFilter',
  runOncePerRequest: true,
  appliesTo: (request) => Object.keys(request.flavor.extraSpecs).some((key) => !key.includes(':') || key.startsWith(`${SCOPE}:`)),
  filter(host, request) {
    for (const [rawKey, requirement] of Object.entries(request.flavor.extraSpecs)) {
      const scope = rawKey.split(':')
      if (scope.length > 1 && scope[0] !== SCOPE) continue
      const key = scope.length > 1 ? scope.slice(1).join(':') : rawKey
      const values = host.aggregates.map((a) => a.metadata[key]).filter((v): v is string => v !== undefined)
      if (values.length === 0) return reject(`no aggregate of the host has ${key} (extra spec ${rawKey}=${requirement})`)
      if (!values.some((v) => matchExtraSpec(v, requirement))) return reject(`aggregate metadata ${key}=${values.join('|')} does not match extra spec ${rawKey}=${requirement}`)
    }
    return pass()
  },
})
