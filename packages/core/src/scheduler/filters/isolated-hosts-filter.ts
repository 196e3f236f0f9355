import { defineFilter, pass, reject } from '../filter.js'

/** Options of {@link IsolatedHostsFilter} (Nova's `[filter_scheduler]` options of the same names). */
export interface IsolatedHostsFilterOptions {
  /** Image uuids that may only run on {@link IsolatedHostsFilterOptions.isolatedHosts}. @default [] */
  readonly isolatedImages: readonly string[]
  /** Hosts reserved for the isolated images. @default [] */
  readonly isolatedHosts: readonly string[]
  /** Isolated hosts take only isolated images. @default true */
  readonly restrictIsolatedHostsToIsolatedImages: boolean
}

/**
 * Keeps isolated images on isolated hosts (Nova `IsolatedHostsFilter`): an image in `isolatedImages` runs only on
 * `isolatedHosts`; with `restrictIsolatedHostsToIsolatedImages` those hosts also refuse every other image. With no
 * isolated images, isolated hosts are refused (when restricting) and every other host passes. Runs once per request
 * and on rebuild.
 */
export const IsolatedHostsFilter = defineFilter<IsolatedHostsFilterOptions>({
  name: 'IsolatedHostsFilter',
  runOncePerRequest: true,
  runOnRebuild: true,
  optionsSchema: {
    type: 'object',
    properties: {
      isolatedImages: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
      isolatedHosts: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
      restrictIsolatedHostsToIsolatedImages: { type: 'boolean', default: true },
    },
    additionalProperties: false,
  },
  defaultOptions: { isolatedImages: [], isolatedHosts: [], restrictIsolatedHostsToIsolatedImages: true },
  filter(host, request, { options }) {
    const restrict = options.restrictIsolatedHostsToIsolatedImages
    const hostIsolated = options.isolatedHosts.includes(host.host)
    if (options.isolatedImages.length === 0) {
      return !restrict || !hostIsolated ? pass() : reject(`host ${host.host} is isolated and no image is`)
    }
    const imageIsolated = options.isolatedImages.includes(request.image.id)
    if (restrict) {
      if (imageIsolated === hostIsolated) return pass()
      return reject(imageIsolated ? `image ${request.image.id} is isolated, host ${host.host} is not` : `host ${host.host} is isolated, image ${request.image.id} is not`)
    }
    return !imageIsolated || hostIsolated ? pass() : reject(`image ${request.image.id} is isolated, host ${host.host} is not`)
  },
})
