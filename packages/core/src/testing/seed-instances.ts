import { newRequestId, type RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import { InstanceRepository } from '../db/repositories/instance-repository.js'
import type { Flavor } from '../model/flavor.js'
import type { ImageMeta } from '../model/image-meta.js'
import type { Instance } from '../model/instance.js'
import type { RequestSpec } from '../model/request-spec.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { makeFlavor, makeImageMeta } from './make-instance.js'

/** Options of {@link seedBuildingInstances}. */
export interface SeedInstancesOptions {
  /** How many instances (one reservation, like a multi-create). @default 1 */
  readonly count?: number
  readonly flavor?: Partial<Flavor>
  readonly image?: Partial<ImageMeta>
  readonly projectId?: string
  readonly userId?: string
  /** Display name; with `count > 1` each gets `-<n>` appended. @default 'server' */
  readonly name?: string
  readonly availabilityZone?: string | null
  readonly requestedHost?: string | null
  readonly clock?: Clock
}

/** What {@link seedBuildingInstances} recorded, ready for `schedule_and_build_instances`. */
export interface SeededBuild {
  readonly context: RequestContext
  readonly instances: readonly Instance[]
  readonly requestSpec: RequestSpec
}

/**
 * Records instances the way the API's create does, for tests of the conductor and compute services: each
 * instance row in `building`/`scheduling`, its `build_requests` row and its `create` instance action under one
 * request id, and returns the matching request spec and context.
 */
export async function seedBuildingInstances(db: NovumDb, options: SeedInstancesOptions = {}): Promise<SeededBuild> {
  const clock = options.clock ?? systemClock
  const count = options.count ?? 1
  const projectId = options.projectId ?? 'project-1'
  const userId = options.userId ?? 'user-1'
  const flavor = makeFlavor(options.flavor)
  const image = makeImageMeta(options.image)
  const context: RequestContext = { requestId: newRequestId(), userId, projectId, roles: ['member'], isAdmin: false }
  const reservationId = `r-${crypto.randomUUID().slice(0, 8)}`
  const repo = new InstanceRepository(db)
  const instances: Instance[] = []
  for (let i = 0; i < count; i++) {
    const uuid = crypto.randomUUID()
    const name = count > 1 ? `${options.name ?? 'server'}-${i + 1}` : (options.name ?? 'server')
    const now = isoNow(clock)
    instances.push(
      await repo.create({
        uuid,
        displayName: name,
        description: null,
        hostname: name,
        projectId,
        userId,
        imageRef: image.id,
        flavor,
        availabilityZone: options.availabilityZone ?? null,
        keyName: null,
        keyData: null,
        userData: null,
        metadata: {},
        networks: 'none',
        reservationId,
        launchIndex: i,
        createdAt: now,
      }),
    )
  }
  const requestSpec: RequestSpec = {
    instanceUuids: instances.map((i) => i.uuid),
    projectId,
    userId,
    flavor,
    image,
    availabilityZone: options.availabilityZone ?? null,
    schedulerHints: {},
    instanceGroup: null,
    ignoreHosts: [],
    requestedHost: options.requestedHost ?? null,
    requestedNode: null,
    isRebuild: false,
  }
  const now = isoNow(clock)
  for (const instance of instances) {
    await db
      .insertInto('build_requests')
      .values({ instance_uuid: instance.uuid, project_id: projectId, request_spec: JSON.stringify({ requestSpec, adminPassword: null }), created_at: now })
      .execute()
    await db
      .insertInto('instance_actions')
      .values({
        action: 'create',
        instance_uuid: instance.uuid,
        request_id: context.requestId,
        user_id: userId,
        project_id: projectId,
        start_time: now,
        finish_time: null,
        message: null,
        created_at: now,
        updated_at: null,
      })
      .execute()
  }
  return { context, instances, requestSpec }
}
