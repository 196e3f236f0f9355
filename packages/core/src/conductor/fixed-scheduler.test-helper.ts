import type { NovumDb } from '../db/create-database.js'
import { ComputeError } from '../errors/compute-error.js'
import { NoValidHostError } from '../errors/no-valid-host-error.js'
import type { RequestSpec } from '../model/request-spec.js'
import type { Selection } from '../model/selection.js'
import type { PlacementClient } from '../placement/placement-client.js'
import { SCHEDULER_TOPIC, type SelectDestinationsResult } from '../scheduler/scheduler-rpc.js'
import type { RpcListener, Transport } from '../transport/transport.js'

/** Options of {@link listenTestScheduler}. */
export interface TestSchedulerOptions {
  /** Host order to prefer (hosts not listed come after, by name). */
  readonly preferHosts?: readonly string[]
  /** Alternates per instance. @default 2 */
  readonly maxAlternates?: number
}

/**
 * A deliberately simple stand-in for the scheduler service in conductor/compute tests (the real one lives in
 * core/src/scheduler): it asks the real Placement for candidates, orders hosts by `preferHosts` then name,
 * claims the first for each instance and returns the next ones as unclaimed alternates, or throws a
 * `NoValidHostError`. No filters, no weighers.
 */
export function listenTestScheduler(transport: Transport, db: NovumDb, placement: PlacementClient, options: TestSchedulerOptions = {}): Promise<RpcListener> {
  const prefer = options.preferHosts ?? []
  const maxAlternates = options.maxAlternates ?? 2
  const rank = (host: string): number => {
    const i = prefer.indexOf(host)
    return i === -1 ? prefer.length : i
  }
  return transport.listen(
    { topic: SCHEDULER_TOPIC, server: 'test-scheduler' },
    {
      select_destinations: async (args): Promise<SelectDestinationsResult> => {
        const spec = args.requestSpec as RequestSpec
        const nodes = await db.selectFrom('compute_nodes').select(['uuid', 'host', 'hypervisor_hostname']).where('deleted_at', 'is', null).execute()
        const byUuid = new Map(nodes.map((n) => [n.uuid, n]))
        const resources = { VCPU: spec.flavor.vcpus, MEMORY_MB: spec.flavor.memoryMb, DISK_GB: spec.flavor.rootGb + spec.flavor.ephemeralGb }
        const selections: Selection[][] = []
        const claimed: string[] = []
        try {
          for (const uuid of spec.instanceUuids) {
            const candidates = await placement.getAllocationCandidates({ groups: [{ suffix: '', resources }] })
            const ranked = candidates.allocationRequests
              .map((ar) => {
                const rpUuid = Object.keys(ar.allocations)[0]!
                const node = byUuid.get(rpUuid)
                return node ? { node, ar } : null
              })
              .filter((x): x is NonNullable<typeof x> => x !== null)
              .filter((x) => spec.requestedHost === null || x.node.host === spec.requestedHost)
              .sort((a, b) => rank(a.node.host) - rank(b.node.host) || a.node.host.localeCompare(b.node.host))
            const [first, ...rest] = ranked
            if (!first) {
              throw new NoValidHostError({
                hostCount: nodes.length,
                rejections: nodes.map((n) => ({ host: n.host, by: 'Placement', reason: `not enough ${Object.keys(resources).join('/')}` })),
                summary: NoValidHostError.summarise(nodes.length, nodes.map((n) => ({ host: n.host, by: 'Placement', reason: 'no capacity' }))),
              })
            }
            await placement.putAllocations(uuid, { allocations: first.ar.allocations, projectId: spec.projectId, userId: spec.userId, consumerGeneration: null })
            claimed.push(uuid)
            const toSelection = (x: typeof first): Selection => ({
              serviceHost: x.node.host,
              nodename: x.node.hypervisor_hostname,
              computeNodeUuid: x.node.uuid,
              allocationRequest: { allocations: x.ar.allocations },
              allocationRequestVersion: '1.36',
              availabilityZone: null,
            })
            selections.push([toSelection(first), ...rest.slice(0, maxAlternates).map(toSelection)])
          }
        } catch (err) {
          for (const uuid of claimed) await placement.deleteAllocations(uuid)
          throw ComputeError.is(err) ? err : new ComputeError('INTERNAL', String(err))
        }
        return { selections, explanation: { scheduler: 'test', hosts: nodes.map((n) => n.host) } }
      },
    },
  )
}
