import { randomUUID } from 'node:crypto'

/** The header oslo.middleware's request-id filter sets on every response. */
export const REQUEST_ID_HEADER = 'x-openstack-request-id'
/** The legacy header Nova's `compute_req_id` filter sets on every compute response. */
export const COMPUTE_REQUEST_ID_HEADER = 'x-compute-request-id'

/**
 * A fresh `req-<uuid>` request id. Like oslo's request-id middleware, the local id is always generated: an incoming
 * `X-OpenStack-Request-ID` is the caller's *global* id, not ours. Used as fastify's `genReqId`, so the id is
 * `request.id` and the `req_id` binding of `request.log`.
 */
export function generateRequestId(): string {
  return `req-${randomUUID()}`
}
