import type { ColumnType, Generated } from 'kysely'

/*
 * The table map of Novum's database. One schema for SQLite, PostgreSQL and MariaDB/MySQL, so the column types
 * are the portable subset: integers (booleans are 0/1), doubles, varchar/text, and timestamps as ISO-8601 strings
 * (`2026-11-22T18:33:52.123Z`, which sort as text). JSON documents are stored as text.
 */

/** ISO-8601 timestamp string. */
type Timestamp = string
/** An autoincrement integer key. */
type Serial = Generated<number>
/** JSON stored as text: written as a string, read as a string. */
type JsonText = string

export interface InstancesTable {
  id: Serial
  uuid: string
  display_name: string
  description: string | null
  hostname: string
  project_id: string
  user_id: string
  image_ref: string
  /** The embedded copy of the flavor (JSON of `Flavor`). */
  flavor: JsonText
  vm_state: string
  task_state: string | null
  power_state: number
  host: string | null
  node: string | null
  availability_zone: string | null
  key_name: string | null
  key_data: string | null
  user_data: string | null
  /** JSON object of user metadata. */
  metadata: JsonText
  /** JSON object of system metadata. */
  system_metadata: JsonText
  /** JSON: `"none"`, `"auto"` or a list of requested networks. */
  networks: JsonText
  access_ip_v4: string | null
  access_ip_v6: string | null
  config_drive: string
  progress: number
  locked: number
  locked_by: string | null
  locked_reason: string | null
  reservation_id: string
  launch_index: number
  launched_at: Timestamp | null
  terminated_at: Timestamp | null
  created_at: Timestamp
  updated_at: Timestamp | null
  deleted_at: Timestamp | null
  /** 0 while the instance exists; its id once deleted (Nova's soft-delete convention). */
  deleted: ColumnType<number, number | undefined, number>
  /** The flavor's size, as columns for SQL aggregates (quota usage). */
  vcpus: ColumnType<number, number | undefined, number>
  memory_mb: ColumnType<number, number | undefined, number>
  root_gb: ColumnType<number, number | undefined, number>
  ephemeral_gb: ColumnType<number, number | undefined, number>
}

export interface InstanceFaultsTable {
  id: Serial
  instance_uuid: string
  code: number
  message: string
  details: string | null
  host: string | null
  created_at: Timestamp
}

export interface InstanceActionsTable {
  id: Serial
  action: string
  instance_uuid: string
  request_id: string
  user_id: string | null
  project_id: string | null
  start_time: Timestamp
  finish_time: Timestamp | null
  message: string | null
  created_at: Timestamp
  updated_at: Timestamp | null
}

export interface InstanceActionEventsTable {
  id: Serial
  action_id: number
  event: string
  start_time: Timestamp
  finish_time: Timestamp | null
  result: string | null
  traceback: string | null
  host: string | null
  /** Free-form details; the scheduler's explanation of a decision is stored here as JSON. */
  details: string | null
}

export interface BuildRequestsTable {
  id: Serial
  instance_uuid: string
  project_id: string
  /** JSON of the `RequestSpec` and build parameters. */
  request_spec: JsonText
  created_at: Timestamp
}

export interface FlavorsTable {
  id: Serial
  flavorid: string
  name: string
  memory_mb: number
  vcpus: number
  root_gb: number
  ephemeral_gb: number
  swap: number
  rxtx_factor: number
  is_public: number
  disabled: number
  description: string | null
  created_at: Timestamp
  updated_at: Timestamp | null
}

export interface FlavorExtraSpecsTable {
  id: Serial
  flavor_id: number
  key: string
  value: string
}

export interface FlavorProjectsTable {
  id: Serial
  flavor_id: number
  project_id: string
}

export interface KeyPairsTable {
  id: Serial
  name: string
  user_id: string
  fingerprint: string
  public_key: string
  type: string
  created_at: Timestamp
}

export interface ServicesTable {
  id: Serial
  uuid: string
  host: string
  binary: string
  topic: string | null
  report_count: number
  disabled: number
  disabled_reason: string | null
  forced_down: number
  last_seen_up: Timestamp | null
  version: number
  created_at: Timestamp
  updated_at: Timestamp | null
  deleted_at: Timestamp | null
}

export interface ComputeNodesTable {
  id: Serial
  uuid: string
  service_id: number | null
  host: string
  hypervisor_hostname: string
  hypervisor_type: string
  hypervisor_version: number
  vcpus: number
  memory_mb: number
  local_gb: number
  vcpus_used: number
  memory_mb_used: number
  local_gb_used: number
  free_ram_mb: number
  free_disk_gb: number
  disk_available_least: number
  current_workload: number
  running_vms: number
  host_ip: string | null
  /** JSON of the CPU description. */
  cpu_info: JsonText
  /** JSON list of `[arch, hv_type, vm_mode]`. */
  supported_instances: JsonText
  /** JSON object of stats (`num_instances`, `io_workload`, `failed_builds`, …). */
  stats: JsonText
  /** JSON object of metrics. */
  metrics: JsonText
  cpu_allocation_ratio: number
  ram_allocation_ratio: number
  disk_allocation_ratio: number
  created_at: Timestamp
  updated_at: Timestamp | null
  deleted_at: Timestamp | null
}

export interface QuotasTable {
  id: Serial
  project_id: string
  resource: string
  hard_limit: number
}

export interface ProjectUserQuotasTable {
  id: Serial
  project_id: string
  user_id: string
  resource: string
  hard_limit: number
}

export interface QuotaClassesTable {
  id: Serial
  class_name: string
  resource: string
  hard_limit: number
}

export interface InstanceGroupsTable {
  id: Serial
  uuid: string
  name: string
  project_id: string
  user_id: string
  policy: string
  /** JSON object of rules (`max_server_per_host`). */
  rules: JsonText
  created_at: Timestamp
  updated_at: Timestamp | null
}

export interface InstanceGroupMembersTable {
  id: Serial
  group_id: number
  instance_uuid: string
  created_at: Timestamp
}

export interface AggregatesTable {
  id: Serial
  uuid: string
  name: string
  created_at: Timestamp
  updated_at: Timestamp | null
}

export interface AggregateHostsTable {
  id: Serial
  aggregate_id: number
  host: string
}

export interface AggregateMetadataTable {
  id: Serial
  aggregate_id: number
  key: string
  value: string
}

export interface MigrationsTable {
  id: Serial
  uuid: string
  instance_uuid: string
  source_compute: string | null
  dest_compute: string | null
  source_node: string | null
  dest_node: string | null
  dest_host: string | null
  old_flavor_id: string | null
  new_flavor_id: string | null
  migration_type: string
  status: string
  user_id: string | null
  project_id: string | null
  created_at: Timestamp
  updated_at: Timestamp | null
}

// --- Placement ---------------------------------------------------------------------------------

export interface ResourceProvidersTable {
  id: Serial
  uuid: string
  name: string
  generation: number
  root_provider_id: number | null
  parent_provider_id: number | null
  created_at: Timestamp
  updated_at: Timestamp | null
}

export interface InventoriesTable {
  id: Serial
  resource_provider_id: number
  resource_class: string
  total: number
  reserved: number
  min_unit: number
  max_unit: number
  step_size: number
  allocation_ratio: number
  created_at: Timestamp
  updated_at: Timestamp | null
}

export interface AllocationsTable {
  id: Serial
  resource_provider_id: number
  consumer_id: string
  resource_class: string
  used: number
  created_at: Timestamp
  updated_at: Timestamp | null
}

export interface ConsumersTable {
  id: Serial
  uuid: string
  project_id: string
  user_id: string
  generation: number
  consumer_type: string | null
  created_at: Timestamp
  updated_at: Timestamp | null
}

export interface TraitsTable {
  id: Serial
  name: string
  created_at: Timestamp
}

export interface ResourceProviderTraitsTable {
  resource_provider_id: number
  trait_id: number
}

export interface ResourceProviderAggregatesTable {
  resource_provider_id: number
  aggregate_uuid: string
}

/** Custom resource classes (`CUSTOM_*`); the standard ones (os-resource-classes) are not stored. */
export interface ResourceClassesTable {
  id: Serial
  name: string
  created_at: Timestamp
  updated_at: Timestamp | null
}

// --- Identity and images (the embedded Keystone and Glance surfaces) -------------------------------

export interface ProjectsTable {
  id: string
  name: string
  domain_id: string
  description: string | null
  enabled: number
  created_at: Timestamp
}

export interface UsersTable {
  id: string
  name: string
  domain_id: string
  /** scrypt hash: `scrypt$<N>$<salt-b64>$<hash-b64>`. */
  password_hash: string
  enabled: number
  default_project_id: string | null
  created_at: Timestamp
}

export interface RolesTable {
  id: string
  name: string
}

export interface RoleAssignmentsTable {
  user_id: string
  project_id: string
  role_id: string
}

export interface TokensTable {
  /** sha256 of the token string; the token itself is never stored. */
  id: string
  user_id: string
  project_id: string | null
  /** JSON list of role names. */
  roles: JsonText
  issued_at: Timestamp
  expires_at: Timestamp
}

export interface ImagesTable {
  id: string
  name: string
  status: string
  disk_format: string | null
  container_format: string | null
  min_ram: number
  min_disk: number
  size: number | null
  checksum: string | null
  visibility: string
  owner: string | null
  protected: number
  /** JSON object of extra properties. */
  properties: JsonText
  /** Where the image data lives (a path in the data directory), or null. */
  location: string | null
  created_at: Timestamp
  updated_at: Timestamp | null
}

/** Every table of Novum's database. */
export interface NovumDatabase {
  instances: InstancesTable
  instance_faults: InstanceFaultsTable
  instance_actions: InstanceActionsTable
  instance_actions_events: InstanceActionEventsTable
  build_requests: BuildRequestsTable
  flavors: FlavorsTable
  flavor_extra_specs: FlavorExtraSpecsTable
  flavor_projects: FlavorProjectsTable
  key_pairs: KeyPairsTable
  services: ServicesTable
  compute_nodes: ComputeNodesTable
  quotas: QuotasTable
  project_user_quotas: ProjectUserQuotasTable
  quota_classes: QuotaClassesTable
  instance_groups: InstanceGroupsTable
  instance_group_members: InstanceGroupMembersTable
  aggregates: AggregatesTable
  aggregate_hosts: AggregateHostsTable
  aggregate_metadata: AggregateMetadataTable
  migrations: MigrationsTable
  resource_providers: ResourceProvidersTable
  inventories: InventoriesTable
  allocations: AllocationsTable
  consumers: ConsumersTable
  traits: TraitsTable
  resource_provider_traits: ResourceProviderTraitsTable
  resource_provider_aggregates: ResourceProviderAggregatesTable
  resource_classes: ResourceClassesTable
  projects: ProjectsTable
  users: UsersTable
  roles: RolesTable
  role_assignments: RoleAssignmentsTable
  tokens: TokensTable
  images: ImagesTable
}
