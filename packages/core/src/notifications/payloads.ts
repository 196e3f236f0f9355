import type { RequestContext } from '../context.js'
import type { Flavor } from '../model/flavor.js'
import type { Instance } from '../model/instance.js'
import type { RequestSpec } from '../model/request-spec.js'
import { POWER_STATE_NAMES } from '../model/states.js'

/**
 * A versioned object as Nova's notifications carry it: `nova_object.name`, `.namespace` (`nova`), `.version`
 * and `.data`. Nested objects (the flavor, a fault) are versioned objects too.
 */
export type VersionedPayload = {
  readonly 'nova_object.name': string
  readonly 'nova_object.namespace': 'nova'
  readonly 'nova_object.version': string
  readonly 'nova_object.data': Readonly<Record<string, unknown>>
}

/**
 * The payload versions Novum emits, matching Nova Zed (`nova/notifications/objects/`). Bump a version here when
 * a payload's fields change, as Nova does.
 */
export const PAYLOAD_VERSIONS = {
  InstanceActionPayload: '1.8',
  InstanceCreatePayload: '1.12',
  FlavorPayload: '1.4',
  ExceptionPayload: '1.1',
  ComputeTaskPayload: '1.0',
  RequestSpecPayload: '1.1',
  AggregatePayload: '1.1',
} as const

/** Wraps `data` as a versioned object. */
export function versionedPayload(name: keyof typeof PAYLOAD_VERSIONS, data: Readonly<Record<string, unknown>>): VersionedPayload {
  return { 'nova_object.name': name, 'nova_object.namespace': 'nova', 'nova_object.version': PAYLOAD_VERSIONS[name], 'nova_object.data': data }
}

/** The fault of an error notification (Nova `ExceptionPayload`). */
export interface FaultInfo {
  /** The error class (`ComputeError`, `NoValidHostError`, …). */
  readonly exception: string
  readonly message: string
  /** Where it was raised, e.g. `novum.compute.manager`. @default 'novum' */
  readonly moduleName?: string
  /** The operation that failed, e.g. `build_and_run_instance`. @default 'unknown' */
  readonly functionName?: string
  readonly traceback?: string
}

/** Builds a {@link FaultInfo} from anything thrown. */
export function faultFromError(err: unknown, where: { readonly moduleName?: string; readonly functionName?: string } = {}): FaultInfo {
  const error = err instanceof Error ? err : new Error(String(err))
  return {
    exception: error.name,
    message: error.message,
    ...(where.moduleName !== undefined ? { moduleName: where.moduleName } : {}),
    ...(where.functionName !== undefined ? { functionName: where.functionName } : {}),
    traceback: error.stack ?? `${error.name}: ${error.message}`,
  }
}

/** Nova's `ExceptionPayload`. */
export function exceptionPayload(fault: FaultInfo): VersionedPayload {
  return versionedPayload('ExceptionPayload', {
    module_name: fault.moduleName ?? 'novum',
    function_name: fault.functionName ?? 'unknown',
    exception: fault.exception,
    exception_message: fault.message,
    traceback: fault.traceback ?? '',
  })
}

/** Nova's `FlavorPayload` of an instance's embedded flavor. */
export function flavorPayload(flavor: Flavor): VersionedPayload {
  return versionedPayload('FlavorPayload', {
    flavorid: flavor.id,
    name: flavor.name,
    memory_mb: flavor.memoryMb,
    vcpus: flavor.vcpus,
    root_gb: flavor.rootGb,
    ephemeral_gb: flavor.ephemeralGb,
    swap: flavor.swapMb,
    rxtx_factor: flavor.rxtxFactor,
    vcpu_weight: 0,
    disabled: flavor.disabled,
    is_public: flavor.isPublic,
    extra_specs: { ...flavor.extraSpecs },
    projects: null,
    description: flavor.description,
  })
}

/** Options of {@link instanceActionPayload}. */
export interface InstancePayloadOptions {
  /** The fault of an `.error` notification. */
  readonly fault?: FaultInfo | null
  /** Use Nova's `InstanceCreatePayload` (for `instance.create.*`), which adds keypairs, tags and the instance name. */
  readonly create?: boolean
}

/**
 * Nova's `InstanceActionPayload` (or `InstanceCreatePayload`) of an instance: uuid, names, host and node,
 * flavor, image, states (power state as Nova's string), tenant and user, timestamps and the request initiator.
 */
export function instanceActionPayload(context: RequestContext | null, instance: Instance, options: InstancePayloadOptions = {}): VersionedPayload {
  const data: Record<string, unknown> = {
    uuid: instance.uuid,
    user_id: instance.userId,
    tenant_id: instance.projectId,
    reservation_id: instance.reservationId,
    display_name: instance.displayName,
    display_description: instance.description,
    host_name: instance.hostname,
    host: instance.host,
    node: instance.node,
    os_type: null,
    architecture: null,
    availability_zone: instance.availabilityZone,
    flavor: flavorPayload(instance.flavor),
    image_uuid: instance.imageRef,
    key_name: instance.keyName,
    kernel_id: '',
    ramdisk_id: '',
    created_at: instance.createdAt,
    launched_at: instance.launchedAt,
    terminated_at: instance.terminatedAt,
    deleted_at: instance.deletedAt,
    updated_at: instance.updatedAt,
    state: instance.vmState,
    power_state: POWER_STATE_NAMES[instance.powerState] ?? 'pending',
    task_state: instance.taskState,
    progress: 0,
    ip_addresses: [],
    block_devices: [],
    metadata: { ...instance.metadata },
    locked: instance.locked,
    locked_reason: null,
    auto_disk_config: 'MANUAL',
    // NOTE: as Nova, periodic tasks (no project/user in the context) carry no request id.
    request_id: context && context.projectId && context.userId ? context.requestId : null,
    action_initiator_user: context?.userId ?? null,
    action_initiator_project: context?.projectId ?? null,
    fault: options.fault ? exceptionPayload(options.fault) : null,
  }
  if (options.create) {
    data.keypairs = []
    data.tags = []
    data.trusted_image_certificates = null
    data.instance_name = instance.instanceName
    return versionedPayload('InstanceCreatePayload', data)
  }
  return versionedPayload('InstanceActionPayload', data)
}

/** What {@link aggregatePayload} reads of a host aggregate. */
export interface AggregatePayloadSource {
  /** `null` before the aggregate is stored (`aggregate.create.start`). */
  readonly id: number | null
  readonly uuid: string
  readonly name: string
  /** `null` when not loaded yet (`aggregate.create.start`). */
  readonly hosts: readonly string[] | null
  readonly metadata: Readonly<Record<string, string>> | null
}

/** Nova's `AggregatePayload` of the `aggregate.*` notifications (create, delete, add_host, remove_host, update_metadata, update_prop). */
export function aggregatePayload(aggregate: AggregatePayloadSource): VersionedPayload {
  return versionedPayload('AggregatePayload', {
    id: aggregate.id,
    uuid: aggregate.uuid,
    name: aggregate.name,
    hosts: aggregate.hosts ? [...aggregate.hosts] : null,
    metadata: aggregate.metadata ? { ...aggregate.metadata } : null,
  })
}

/** Nova's `ComputeTaskPayload` of a conductor task failure (`compute_task.build_instances.error`). */
export function computeTaskPayload(instanceUuid: string, requestSpec: RequestSpec | null, state: string | null, reason: FaultInfo): VersionedPayload {
  return versionedPayload('ComputeTaskPayload', {
    instance_uuid: instanceUuid,
    request_spec: requestSpec
      ? versionedPayload('RequestSpecPayload', {
          instance_uuid: instanceUuid,
          project_id: requestSpec.projectId,
          user_id: requestSpec.userId,
          availability_zone: requestSpec.availabilityZone,
          flavor: flavorPayload(requestSpec.flavor),
          image: { id: requestSpec.image.id, name: requestSpec.image.name },
          ignore_hosts: [...requestSpec.ignoreHosts],
          force_hosts: requestSpec.requestedHost,
          force_nodes: requestSpec.requestedNode,
          num_instances: requestSpec.instanceUuids.length,
          scheduler_hints: { ...requestSpec.schedulerHints },
        })
      : null,
    state,
    reason: exceptionPayload(reason),
  })
}
