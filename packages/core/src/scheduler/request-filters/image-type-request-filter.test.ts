import { describe, expect, it } from 'vitest'
import { makeRequestSpec } from '../../testing/scheduler-fixtures.js'
import { ImageTypeRequestFilter } from './image-type-request-filter.js'
import { applyRequestFilter, BASE_QUERY } from './request-filters.test-helper.js'

describe(ImageTypeRequestFilter.name, () => {
  it.each([
    { diskFormat: 'qcow2', rootRequired: ['COMPUTE_IMAGE_TYPE_QCOW2'] },
    { diskFormat: 'raw', rootRequired: ['COMPUTE_IMAGE_TYPE_RAW'] },
    { diskFormat: 'iso', rootRequired: ['COMPUTE_IMAGE_TYPE_ISO'] },
    { diskFormat: 'weird', rootRequired: undefined },
    { diskFormat: '', rootRequired: undefined },
  ])('disk_format $diskFormat → root_required $rootRequired', async ({ diskFormat, rootRequired }) => {
    const out = await applyRequestFilter(ImageTypeRequestFilter, makeRequestSpec({ image: { diskFormat } }))
    if (rootRequired === undefined) expect(out).toBe(BASE_QUERY)
    else expect(out).toEqual({ ...BASE_QUERY, rootRequired })
  })
})
