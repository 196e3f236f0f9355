import { defineFilter, pass, reject } from '../filter.js'

/** Options of {@link AvailabilityZoneFilter}. */
export interface AvailabilityZoneFilterOptions {
  /** The zone of hosts in no zone aggregate (Nova `default_availability_zone`). @default 'nova' */
  readonly defaultAvailabilityZone: string
}

/**
 * Keeps the hosts of the requested availability zone (Nova `AvailabilityZoneFilter`, deprecated there since Xena in
 * favour of the `AvailabilityZoneRequestFilter` prefilter): a host's zones are the `availability_zone` metadata of
 * its aggregates, or `defaultAvailabilityZone` when none has one. A request without a zone passes everywhere.
 * Runs once per request.
 */
export const AvailabilityZoneFilter = defineFilter<AvailabilityZoneFilterOptions>({
  name: 'AvailabilityZoneFilter',
  runOncePerRequest: true,
  optionsSchema: {
    type: 'object',
    properties: { defaultAvailabilityZone: { type: 'string', minLength: 1, default: 'nova' } },
    additionalProperties: false,
  },
  defaultOptions: { defaultAvailabilityZone: 'nova' },
  appliesTo: (request) => Boolean(request.availabilityZone),
  filter(host, request, { options }) {
    const wanted = request.availabilityZone
    if (!wanted) return pass()
    const zones = new Set<string>()
    for (const a of host.aggregates) {
      const z = a.metadata['availability_zone'] ?? a.availabilityZone
      if (z) zones.add(z)
    }
    if (zones.size === 0) zones.add(options?.defaultAvailabilityZone ?? 'nova')
    if (zones.has(wanted)) return pass()
    return reject(`in availability zone ${[...zones].sort().join(', ')}, not ${wanted}`)
  },
})
