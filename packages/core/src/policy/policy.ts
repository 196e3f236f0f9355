import type { RequestContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'

/**
 * Who a policy rule lets through (Nova's check strings, reduced to what the defaults use):
 * - `admin`: an admin context only (`rule:context_is_admin`);
 * - `project_member_or_admin`: an admin, or a member of the target's project (`rule:admin_or_owner`);
 * - `project_reader_or_admin`: like `project_member_or_admin`, but a `reader` suffices when new defaults are enforced;
 * - `user_or_admin`: an admin, or the target's user (`rule:admin_api or user_id:%(user_id)s`, keypairs);
 * - `any`: everyone with a token (`@`).
 */
export type PolicyCheck = 'admin' | 'project_member_or_admin' | 'project_reader_or_admin' | 'user_or_admin' | 'any'

/** What a rule is checked against: the owner of the resource. Omitted fields default to the caller's own. */
export interface PolicyTarget {
  readonly projectId?: string | null
  readonly userId?: string | null
}

/** Options of {@link Policy}. */
export interface PolicyConfig {
  /** Rule name → check, replacing the default of that rule (Nova's `policy.yaml`). */
  readonly overrides?: Readonly<Record<string, PolicyCheck>>
  /**
   * Nova `[oslo_policy] enforce_new_defaults`: when true, `project_member_or_admin` also needs the `member`
   * role and `project_reader_or_admin` the `reader` (or `member`) role. Zed's default is false, where any role
   * on the project counts as owner.
   * @default false
   */
  readonly enforceNewDefaults?: boolean
}

/**
 * Nova Zed's default policy, as data (the legacy check strings that apply while `enforce_new_defaults` is false).
 * Rule names are Nova's, so a deployer's overrides use the names they know.
 */
export const DEFAULT_POLICY_RULES: Readonly<Record<string, PolicyCheck>> = {
  // servers
  'os_compute_api:servers:index': 'project_reader_or_admin',
  'os_compute_api:servers:detail': 'project_reader_or_admin',
  'os_compute_api:servers:index:get_all_tenants': 'admin',
  'os_compute_api:servers:detail:get_all_tenants': 'admin',
  'os_compute_api:servers:allow_all_filters': 'admin',
  'os_compute_api:servers:show': 'project_reader_or_admin',
  'os_compute_api:servers:show:host_status': 'admin',
  'os_compute_api:servers:create': 'project_member_or_admin',
  'os_compute_api:servers:create:forced_host': 'admin',
  'os_compute_api:servers:create:requested_destination': 'admin',
  'os_compute_api:servers:create:attach_network': 'project_member_or_admin',
  'os_compute_api:servers:create:zero_disk_flavor': 'admin',
  'os_compute_api:servers:update': 'project_member_or_admin',
  'os_compute_api:servers:delete': 'project_member_or_admin',
  'os_compute_api:servers:start': 'project_member_or_admin',
  'os_compute_api:servers:stop': 'project_member_or_admin',
  'os_compute_api:servers:reboot': 'project_member_or_admin',
  'os_compute_api:server-metadata:index': 'project_reader_or_admin',
  'os_compute_api:server-metadata:show': 'project_reader_or_admin',
  'os_compute_api:server-metadata:create': 'project_member_or_admin',
  'os_compute_api:server-metadata:update': 'project_member_or_admin',
  'os_compute_api:server-metadata:update_all': 'project_member_or_admin',
  'os_compute_api:server-metadata:delete': 'project_member_or_admin',
  'os_compute_api:os-lock-server:lock': 'project_member_or_admin',
  'os_compute_api:os-lock-server:unlock': 'project_member_or_admin',
  'os_compute_api:os-lock-server:unlock:unlock_override': 'admin',
  'os_compute_api:os-pause-server:pause': 'project_member_or_admin',
  'os_compute_api:os-pause-server:unpause': 'project_member_or_admin',
  'os_compute_api:os-suspend-server:suspend': 'project_member_or_admin',
  'os_compute_api:os-suspend-server:resume': 'project_member_or_admin',
  'os_compute_api:os-console-output': 'project_member_or_admin',
  'os_compute_api:os-instance-actions:list': 'project_reader_or_admin',
  'os_compute_api:os-instance-actions:show': 'project_reader_or_admin',
  'os_compute_api:os-instance-actions:events': 'admin',
  'os_compute_api:os-instance-actions:events:details': 'admin',
  'os_compute_api:os-admin-actions:reset_state': 'admin',
  // flavors
  'os_compute_api:os-flavor-manage:create': 'admin',
  'os_compute_api:os-flavor-manage:update': 'admin',
  'os_compute_api:os-flavor-manage:delete': 'admin',
  'os_compute_api:os-flavor-extra-specs:index': 'project_reader_or_admin',
  'os_compute_api:os-flavor-extra-specs:show': 'project_reader_or_admin',
  'os_compute_api:os-flavor-extra-specs:create': 'admin',
  'os_compute_api:os-flavor-extra-specs:update': 'admin',
  'os_compute_api:os-flavor-extra-specs:delete': 'admin',
  'os_compute_api:os-flavor-access': 'admin',
  'os_compute_api:os-flavor-access:add_tenant_access': 'admin',
  'os_compute_api:os-flavor-access:remove_tenant_access': 'admin',
  // keypairs
  'os_compute_api:os-keypairs:index': 'user_or_admin',
  'os_compute_api:os-keypairs:show': 'user_or_admin',
  'os_compute_api:os-keypairs:create': 'user_or_admin',
  'os_compute_api:os-keypairs:delete': 'user_or_admin',
  // quotas and limits
  'os_compute_api:os-quota-sets:show': 'project_reader_or_admin',
  'os_compute_api:os-quota-sets:detail': 'project_reader_or_admin',
  'os_compute_api:os-quota-sets:defaults': 'any',
  'os_compute_api:os-quota-sets:update': 'admin',
  'os_compute_api:os-quota-sets:delete': 'admin',
  'os_compute_api:os-quota-class-sets:show': 'admin',
  'os_compute_api:os-quota-class-sets:update': 'admin',
  'os_compute_api:limits': 'any',
  'os_compute_api:limits:other_project': 'admin',
  // infrastructure
  'os_compute_api:os-hypervisors:list': 'admin',
  'os_compute_api:os-hypervisors:list-detail': 'admin',
  'os_compute_api:os-hypervisors:show': 'admin',
  'os_compute_api:os-hypervisors:statistics': 'admin',
  'os_compute_api:os-hypervisors:uptime': 'admin',
  'os_compute_api:os-hypervisors:search': 'admin',
  'os_compute_api:os-hypervisors:servers': 'admin',
  'os_compute_api:os-services:list': 'admin',
  'os_compute_api:os-services:update': 'admin',
  'os_compute_api:os-services:delete': 'admin',
  'os_compute_api:os-availability-zone:list': 'any',
  'os_compute_api:os-availability-zone:detail': 'admin',
  // host aggregates
  'os_compute_api:os-aggregates:index': 'admin',
  'os_compute_api:os-aggregates:create': 'admin',
  'os_compute_api:os-aggregates:show': 'admin',
  'os_compute_api:os-aggregates:update': 'admin',
  'os_compute_api:os-aggregates:delete': 'admin',
  'os_compute_api:os-aggregates:add_host': 'admin',
  'os_compute_api:os-aggregates:remove_host': 'admin',
  'os_compute_api:os-aggregates:set_metadata': 'admin',
  'compute:aggregates:images': 'admin',
  // server groups
  'os_compute_api:os-server-groups:create': 'project_member_or_admin',
  'os_compute_api:os-server-groups:delete': 'project_member_or_admin',
  'os_compute_api:os-server-groups:index': 'project_reader_or_admin',
  'os_compute_api:os-server-groups:index:all_projects': 'admin',
  'os_compute_api:os-server-groups:show': 'project_reader_or_admin',
  // Novum extensions
  'novum:scheduler:dry-run': 'admin',
  // images (the embedded Glance)
  'image:add_image': 'any',
  'image:get_image': 'any',
  'image:get_images': 'any',
  'image:delete_image': 'project_member_or_admin',
  'image:publicize_image': 'admin',
}

/**
 * Nova's policy enforcement: checks a rule for a {@link RequestContext} and a target (the resource's owner).
 * The api services call {@link Policy.authorize} themselves, so every caller (HTTP or in process) is checked.
 *
 * @example
 * ```ts
 * const policy = new Policy({ overrides: { 'os_compute_api:os-hypervisors:list': 'any' } })
 * policy.authorize(ctx, 'os_compute_api:servers:stop', { projectId: instance.projectId })
 * ```
 */
export class Policy {
  private readonly table: Readonly<Record<string, PolicyCheck>>
  private readonly enforceNewDefaults: boolean

  constructor(config: PolicyConfig = {}) {
    this.table = { ...DEFAULT_POLICY_RULES, ...(config.overrides ?? {}) }
    this.enforceNewDefaults = config.enforceNewDefaults ?? false
  }

  /** The effective rules (defaults with overrides applied). */
  rules(): Readonly<Record<string, PolicyCheck>> {
    return this.table
  }

  /** True when `rule` lets `ctx` act on `target`. An unknown rule name is a bug: `ComputeError('INTERNAL')`. */
  check(ctx: RequestContext, rule: string, target: PolicyTarget = {}): boolean {
    const check = this.table[rule]
    if (check === undefined) throw new ComputeError('INTERNAL', `unknown policy rule "${rule}"`)
    if (ctx.isAdmin) return true
    switch (check) {
      case 'any':
        return true
      case 'admin':
        return false
      case 'user_or_admin': {
        const userId = target.userId === undefined ? ctx.userId : target.userId
        return ctx.userId !== null && userId === ctx.userId
      }
      case 'project_member_or_admin':
      case 'project_reader_or_admin': {
        const projectId = target.projectId === undefined ? ctx.projectId : target.projectId
        if (ctx.projectId === null || projectId !== ctx.projectId) return false
        if (!this.enforceNewDefaults) return true
        const roles = new Set(ctx.roles)
        return check === 'project_member_or_admin' ? roles.has('member') : roles.has('member') || roles.has('reader')
      }
    }
  }

  /**
   * Throws `ComputeError('FORBIDDEN', "Policy doesn't allow <rule> to be performed.")` (Nova's `PolicyNotAuthorized`)
   * unless {@link Policy.check} passes.
   */
  authorize(ctx: RequestContext, rule: string, target?: PolicyTarget): void {
    if (!this.check(ctx, rule, target)) {
      throw new ComputeError('FORBIDDEN', `Policy doesn't allow ${rule} to be performed.`, { details: { rule } })
    }
  }
}
