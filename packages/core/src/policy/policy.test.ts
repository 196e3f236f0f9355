import { describe, expect, it } from 'vitest'
import type { RequestContext } from '../context.js'
import { ComputeError } from '../errors/compute-error.js'
import { DEFAULT_POLICY_RULES, Policy } from './policy.js'

const member: RequestContext = { requestId: 'req-1', userId: 'u1', projectId: 'p1', roles: ['member', 'reader'], isAdmin: false }
const reader: RequestContext = { ...member, roles: ['reader'] }
const admin: RequestContext = { requestId: 'req-2', userId: 'a1', projectId: 'admin', roles: ['admin', 'member', 'reader'], isAdmin: true }

describe(Policy.name, () => {
  describe('.authorize', () => {
    it.each([
      'os_compute_api:os-flavor-manage:create',
      'os_compute_api:os-flavor-manage:delete',
      'os_compute_api:os-flavor-extra-specs:create',
      'os_compute_api:os-flavor-extra-specs:update',
      'os_compute_api:os-flavor-extra-specs:delete',
      'os_compute_api:os-hypervisors:list',
      'os_compute_api:os-hypervisors:list-detail',
      'os_compute_api:os-hypervisors:show',
      'os_compute_api:os-services:list',
      'os_compute_api:os-quota-sets:update',
      'os_compute_api:os-quota-sets:delete',
      'os_compute_api:servers:index:get_all_tenants',
    ])('refuses %s to a project member with Nova\'s message', (rule) => {
      expect(() => new Policy().authorize(member, rule)).toThrowError(`Policy doesn't allow ${rule} to be performed.`)
      try {
        new Policy().authorize(member, rule)
      } catch (err) {
        expect(ComputeError.is(err, 'FORBIDDEN')).toBe(true)
      }
    })

    it('lets an admin do everything', () => {
      const policy = new Policy()
      for (const rule of Object.keys(DEFAULT_POLICY_RULES)) expect(policy.check(admin, rule, { projectId: 'other', userId: 'other' })).toBe(true)
    })

    it('lets a member act on its own project only', () => {
      const policy = new Policy()
      expect(policy.check(member, 'os_compute_api:servers:create', { projectId: 'p1' })).toBe(true)
      expect(policy.check(member, 'os_compute_api:servers:stop', { projectId: 'p2' })).toBe(false)
      expect(policy.check(member, 'os_compute_api:servers:create')).toBe(true)
    })

    it('checks keypair rules against the user, not the project', () => {
      const policy = new Policy()
      expect(policy.check(member, 'os_compute_api:os-keypairs:create', { userId: 'u1' })).toBe(true)
      expect(policy.check(member, 'os_compute_api:os-keypairs:create', { userId: 'u2' })).toBe(false)
    })

    it('ignores roles under Zed defaults and requires member under new defaults', () => {
      expect(new Policy().check(reader, 'os_compute_api:servers:create', { projectId: 'p1' })).toBe(true)
      const strict = new Policy({ enforceNewDefaults: true })
      expect(strict.check(reader, 'os_compute_api:servers:create', { projectId: 'p1' })).toBe(false)
      expect(strict.check(reader, 'os_compute_api:servers:show', { projectId: 'p1' })).toBe(true)
      expect(strict.check(member, 'os_compute_api:servers:create', { projectId: 'p1' })).toBe(true)
    })

    it('applies overrides', () => {
      const policy = new Policy({ overrides: { 'os_compute_api:os-hypervisors:list': 'any' } })
      expect(policy.check(member, 'os_compute_api:os-hypervisors:list')).toBe(true)
      expect(policy.rules()['os_compute_api:os-hypervisors:list']).toBe('any')
    })

    it('treats an unknown rule as a bug', () => {
      expect(() => new Policy().check(member, 'os_compute_api:nope')).toThrowError('unknown policy rule "os_compute_api:nope"')
    })
  })
})
