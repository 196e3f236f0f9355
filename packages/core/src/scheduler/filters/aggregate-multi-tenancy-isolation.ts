import { defineFilter, pass, reject } from '../filter.js'
import { aggregateMetadataOf } from './aggregate-metadata.js'

/** The aggregate metadata key prefix that lists the projects an aggregate is reserved for. */
export const TENANT_METADATA_PREFIX = 'filter_tenant_id'

/**
 * Reserves hosts for projects (Nova `AggregateMultiTenancyIsolation`): a host in aggregates whose metadata has keys
 * starting with `filter_tenant_id` (values comma-separated) takes only the projects listed there; other hosts take
 * any project. Runs once per request.
 */
export const AggregateMultiTenancyIsolation = defineFilter({
  name: 'AggregateMultiTenancyIsolation',
  runOncePerRequest: true,
  filter(host, request) {
    const metadata = aggregateMetadataOf(host, (key) => key.startsWith(TENANT_METADATA_PREFIX))
    if (metadata.size === 0) return pass()
    const allowed = new Set<string>()
    for (const values of metadata.values()) for (const v of values) allowed.add(v)
    if (allowed.has(request.projectId)) return pass()
    return reject(`host is reserved for project(s) ${[...allowed].sort().join(', ')}, not ${request.projectId}`)
  },
})
