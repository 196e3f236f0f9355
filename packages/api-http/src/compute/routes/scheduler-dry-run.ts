import type { SchedulerDryRunService } from '@novum/core'
import { contextOf } from '../../common/auth.js'
import { badRequest } from '../../common/http-error.js'
import type { JsonSchema } from '../../common/validation.js'
import type { ComputeRoutesFactory } from '../compute-app.js'

const HINT_VALUE: JsonSchema = { type: ['string', 'array'], items: { type: 'string' } }

/** The dry-run body: the scheduling part of a server create, plus `explain_host` (and, for admins, `project_id`). */
const DRY_RUN_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    server: {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 255 },
        flavorRef: { type: ['string', 'integer'], minLength: 1 },
        imageRef: { type: 'string', format: 'uuid' },
        availability_zone: { type: 'string', minLength: 1, maxLength: 255 },
        min_count: { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1, maxLength: 4 },
        networks: {},
      },
      required: ['flavorRef', 'imageRef'],
      additionalProperties: false,
    },
    'os:scheduler_hints': { type: 'object', additionalProperties: HINT_VALUE },
    explain_host: { type: 'string', minLength: 1, maxLength: 255 },
    project_id: { type: 'string', minLength: 1, maxLength: 255 },
  },
  required: ['server'],
  additionalProperties: false,
}

/** What the dry-run route calls. */
export interface SchedulerDryRunRouteServices {
  readonly schedulerDryRun: SchedulerDryRunService
}

/**
 * `POST /os-scheduler-dry-run` (a Novum extension, admin only): where a server create with this flavor, image, zone,
 * hints and count would land now, and why (not) `explain_host`, without claiming anything. Answers 200 with
 * `{"dry_run": {placed, summary, destinations, explain_host?, explanation}}` whether or not a host was found.
 *
 * @example
 * ```http
 * POST /v2.1/os-scheduler-dry-run
 * {"server": {"flavorRef": "1", "imageRef": "…"}, "explain_host": "compute-3"}
 * ```
 */
export function schedulerDryRunRoutes(services: SchedulerDryRunRouteServices): ComputeRoutesFactory {
  return ({ schemas }) => {
    const validate = schemas.body(DRY_RUN_SCHEMA)
    return {
      name: 'scheduler-dry-run',
      register(app) {
        app.post('/os-scheduler-dry-run', async (request) => {
          validate(request.body)
          const body = request.body as {
            server: { flavorRef: string | number; imageRef: string; availability_zone?: string; min_count?: number | string }
            'os:scheduler_hints'?: Record<string, string | string[]>
            explain_host?: string
            project_id?: string
          }
          const minCount = body.server.min_count === undefined ? 1 : Number.parseInt(String(body.server.min_count), 10)
          if (!(minCount >= 1)) throw badRequest(`Invalid input for field/attribute min_count. Value: ${String(body.server.min_count)}. must be at least 1`)
          const flavorRef = String(body.server.flavorRef).split('/').pop() ?? String(body.server.flavorRef)
          const result = await services.schedulerDryRun.run(contextOf(request), {
            flavorRef,
            imageRef: body.server.imageRef,
            minCount,
            ...(body.server.availability_zone !== undefined ? { availabilityZone: body.server.availability_zone } : {}),
            ...(body['os:scheduler_hints'] ? { schedulerHints: body['os:scheduler_hints'] } : {}),
            ...(body.explain_host !== undefined ? { explainHost: body.explain_host } : {}),
            ...(body.project_id !== undefined ? { projectId: body.project_id } : {}),
          })
          return {
            dry_run: {
              placed: result.placed,
              summary: result.summary,
              destinations: result.destinations.map((d) => ({ host: d.host, hypervisor_hostname: d.nodename, availability_zone: d.availabilityZone, alternates: d.alternates })),
              ...(result.explainHost ? { explain_host: result.explainHost } : {}),
              explanation: result.explanation,
            },
          }
        })
      },
    }
  }
}
