/**
 * Who asked, and the id that ties the logs of one request together across services (Nova `RequestContext`).
 * Plain JSON: it travels with every RPC message.
 */
export interface RequestContext {
  /** `req-<uuid>`: echoed as `x-openstack-request-id` and carried in logs and notifications. */
  readonly requestId: string
  readonly userId: string | null
  readonly projectId: string | null
  readonly roles: readonly string[]
  readonly isAdmin: boolean
  /** The user's name, for logs. */
  readonly userName?: string
  readonly projectName?: string
}

/** Makes a fresh `req-<uuid>` id. */
export function newRequestId(): string {
  return `req-${crypto.randomUUID()}`
}

/** A context for work a service starts itself (periodic tasks, start-up): admin, no user. */
export function createAdminContext(requestId: string = newRequestId()): RequestContext {
  return { requestId, userId: null, projectId: null, roles: ['admin'], isAdmin: true }
}
