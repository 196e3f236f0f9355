import type { FastifyInstance } from 'fastify'
import { createBaseApp, type LoggingOptions } from '../common/base-app.js'
import type { ResolvedError } from '../common/error-status.js'
import { STATUS_TEXT } from '../common/status-text.js'

/** Placement Zed's microversion range. */
export const PLACEMENT_MIN_VERSION = '1.0'
/** Placement Zed's highest microversion. */
export const PLACEMENT_MAX_VERSION = '1.39'

/** Placement's error body: `{"errors": [{"status", "title", "detail", "request_id"}]}`. */
export function placementErrorBody(error: Pick<ResolvedError, 'statusCode' | 'message'>, requestId?: string): unknown {
  return {
    errors: [{ status: error.statusCode, title: STATUS_TEXT[error.statusCode] ?? 'Error', detail: error.message, ...(requestId ? { request_id: requestId } : {}) }],
  }
}

/** Options of {@link createPlacementApp}. */
export type PlacementAppOptions = LoggingOptions

/**
 * The Placement API app (port 8778). This issue serves only the unauthenticated root version document; the
 * resource routes come later and will be registered on the returned instance.
 */
export function createPlacementApp(options: PlacementAppOptions = {}): FastifyInstance {
  const app = createBaseApp({ ...options, errorBody: (e) => placementErrorBody(e) })
  app.get('/', async (_request, reply) => {
    reply.header('OpenStack-API-Version', `placement ${PLACEMENT_MIN_VERSION}`).header('Vary', 'OpenStack-API-Version')
    return {
      versions: [{ id: 'v1.0', max_version: PLACEMENT_MAX_VERSION, min_version: PLACEMENT_MIN_VERSION, status: 'CURRENT', links: [{ rel: 'self', href: '' }] }],
    }
  })
  return app
}
