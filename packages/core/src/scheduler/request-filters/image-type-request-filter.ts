import { STANDARD_TRAITS } from '../../placement/standard-traits.js'
import { defineRequestFilter, requireRootTraits } from '../request-filter.js'


/**
 * Sends a request only to hosts that can boot its image's disk format (Nova `require_image_type_support`,
 * `[scheduler] query_placement_for_image_type_support`): the image's `disk_format` becomes the required root trait
 * `COMPUTE_IMAGE_TYPE_<FORMAT>`, which compute services report for the formats their driver supports. A format
 * without a standard trait adds nothing.
 */
export const ImageTypeRequestFilter = defineRequestFilter({
  name: 'ImageTypeRequestFilter',
  apply(query, request) {
    const format = request.image.diskFormat
    if (!format) return query
    const trait = `COMPUTE_IMAGE_TYPE_${format.toUpperCase()}`
    return STANDARD_TRAITS.has(trait) ? requireRootTraits(query, [trait]) : query
  },
})
