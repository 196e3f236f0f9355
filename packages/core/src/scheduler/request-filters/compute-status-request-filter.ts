import { COMPUTE_STATUS_DISABLED } from '../resource-request.js'
import { defineRequestFilter, forbidRootTraits } from '../request-filter.js'

/**
 * Leaves out hosts whose compute service is disabled (Nova `compute_status_filter`, always on): forbids the root
 * trait `COMPUTE_STATUS_DISABLED`, which the conductor sets on the provider of a disabled service.
 */
export const ComputeStatusRequestFilter = defineRequestFilter({
  name: 'ComputeStatusRequestFilter',
  apply: (query) => forbidRootTraits(query, [COMPUTE_STATUS_DISABLED]),
})
