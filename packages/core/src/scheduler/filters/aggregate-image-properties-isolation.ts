import { defineFilter, pass, reject } from '../filter.js'
import { aggregateMetadataOf } from './aggregate-metadata.js'

/** Options of {@link AggregateImagePropertiesIsolation}. */
export interface AggregateImagePropertiesIsolationOptions {
  /** Only aggregate metadata keys starting with `namespace + separator` are compared (Nova `…_isolation_namespace`). */
  readonly namespace?: string
  /** @default '.' (Nova `aggregate_image_properties_isolation_separator`) */
  readonly separator: string
}

/**
 * Matches image properties with the host's aggregate metadata (Nova `AggregateImagePropertiesIsolation`): for every
 * aggregate metadata key (optionally only those in `namespace`), an image that has a property of that name must
 * have one of the aggregate's values (comma-separated). Images without the property pass. Runs once per request
 * and on rebuild.
 */
export const AggregateImagePropertiesIsolation = defineFilter<AggregateImagePropertiesIsolationOptions>({
  name: 'AggregateImagePropertiesIsolation',
  runOncePerRequest: true,
  runOnRebuild: true,
  optionsSchema: {
    type: 'object',
    properties: { namespace: { type: 'string', minLength: 1 }, separator: { type: 'string', default: '.' } },
    additionalProperties: false,
  },
  defaultOptions: { separator: '.' },
  filter(host, request, { options }) {
    const prefix = options?.namespace ? `${options.namespace}${options.separator ?? '.'}` : null
    const metadata = aggregateMetadataOf(host, prefix ? (key) => key.startsWith(prefix) : undefined)
    const props = request.image.properties
    for (const [key, values] of metadata) {
      const prop = props[key]
      if (prop && !values.has(prop)) return reject(`image property ${key}=${prop} is not among the host aggregates' values ${[...values].sort().join(', ')}`)
    }
    return pass()
  },
})
