import { createHash, randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { isUniqueViolation } from '../api/db-errors.js'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import { ComputeError } from '../errors/compute-error.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))))
}

/** The only domain of the embedded Keystone. */
export const DEFAULT_DOMAIN_ID = 'default'
/** Its name, as clients send it (`--os-user-domain-name Default`). */
export const DEFAULT_DOMAIN_NAME = 'Default'

/** Keystone's bootstrap roles; `admin` implies `member`, which implies `reader`. */
export const DEFAULT_ROLES = ['admin', 'member', 'reader'] as const

const IMPLIED_ROLES: Readonly<Record<string, readonly string[]>> = { admin: ['member', 'reader'], member: ['reader'] }

/** Keystone's message for every authentication failure (no hint of which part was wrong). */
export const UNAUTHORIZED_MESSAGE = 'The request you have made requires authentication.'

/** A user of the embedded Keystone. */
export interface IdentityUser {
  readonly id: string
  readonly name: string
  readonly domainId: string
  readonly enabled: boolean
  readonly defaultProjectId: string | null
  readonly createdAt: string
}

/** A project of the embedded Keystone. */
export interface IdentityProject {
  readonly id: string
  readonly name: string
  readonly domainId: string
  readonly description: string | null
  readonly enabled: boolean
  readonly createdAt: string
}

/** A role. */
export interface IdentityRole {
  readonly id: string
  readonly name: string
}

/** The project scope of an authentication: by id, or by name (in a domain). */
export interface ProjectScope {
  readonly id?: string
  readonly name?: string
  /** Domain id or name of the project. @default 'default' */
  readonly domain?: string
}

/** `POST /v3/auth/tokens` with the password method. */
export interface AuthenticateRequest {
  /** The user's name (with `domain`) … */
  readonly userName?: string
  /** … or id. */
  readonly userId?: string
  /** Domain id or name of the user. @default 'default' */
  readonly domain?: string
  readonly password: string
  /** A project scope; without it the token is unscoped (no roles). */
  readonly project?: ProjectScope
}

/** A freshly issued token. */
export interface AuthenticateResult {
  /** The token string: 32 random bytes, base64url. Only its sha256 is stored. */
  readonly token: string
  readonly issuedAt: string
  readonly expiresAt: string
  readonly user: IdentityUser
  readonly project: IdentityProject | null
  /** Role names, implied ones included (admin → member → reader). */
  readonly roles: readonly IdentityRole[]
}

/** A validated token: the request context it grants, plus its lifetime. */
export interface ValidatedToken {
  readonly context: RequestContext
  readonly issuedAt: string
  readonly expiresAt: string
}

/** Options of {@link IdentityService}. */
export interface IdentityServiceConfig {
  /** Token lifetime. @default 3600 */
  readonly tokenTtlSec?: number
  /** How long a validated token is cached in memory. Revocation through this service clears it at once. @default 5000 */
  readonly validationCacheMs?: number
  /** scrypt cost (N). @default 16384 */
  readonly scryptCost?: number
}

/** What {@link IdentityService.bootstrap} is given (`keystone-manage bootstrap`). */
export interface BootstrapOptions {
  readonly adminUser: string
  readonly adminPassword: string
  /** @default 'admin' */
  readonly projectName?: string
}

/**
 * The embedded Keystone: users, projects, roles and tokens in Novum's database. Passwords are scrypt-hashed
 * (`scrypt$<N>$<salt>$<hash>`); tokens are random and stored only as their sha256, with a 1 h default expiry.
 * Every failure to authenticate or validate is `ComputeError('UNAUTHORIZED', 'The request you have made
 * requires authentication.')`.
 *
 * @example
 * ```ts
 * await identity.bootstrap({ adminUser: 'admin', adminPassword: 'secret' })
 * const { token } = await identity.authenticate({ userName: 'admin', password: 'secret', project: { name: 'admin' } })
 * const { context } = await identity.validateToken(token)
 * ```
 */
export class IdentityService {
  private readonly tokenTtlMs: number
  private readonly cacheMs: number
  private readonly scryptCost: number
  private readonly cache = new Map<string, { readonly value: ValidatedToken; readonly until: number }>()

  constructor(
    private readonly db: NovumDb,
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    config: IdentityServiceConfig = {},
  ) {
    this.tokenTtlMs = (config.tokenTtlSec ?? 3600) * 1000
    this.cacheMs = config.validationCacheMs ?? 5000
    this.scryptCost = config.scryptCost ?? 16384
  }

  /**
   * `keystone-manage bootstrap`: creates the roles admin/member/reader, the project (default `admin`) and the
   * admin user with the admin role on it. Idempotent: existing records are kept, and the password is reset to
   * the one given.
   */
  async bootstrap(options: BootstrapOptions): Promise<{ readonly user: IdentityUser; readonly project: IdentityProject }> {
    for (const role of DEFAULT_ROLES) await this.ensureRole(role)
    const projectName = options.projectName ?? 'admin'
    const project = (await this.findProject({ name: projectName })) ?? (await this.createProject({ name: projectName, description: 'Bootstrap project for initializing the cloud.' }))
    let user = await this.findUserByName(options.adminUser, DEFAULT_DOMAIN_ID)
    if (user) await this.setPassword(user.id, options.adminPassword)
    else user = await this.createUser({ name: options.adminUser, password: options.adminPassword, defaultProjectId: project.id })
    await this.assignRole(user.id, project.id, 'admin')
    this.logger.info({ user: user.name, project: project.name }, 'identity bootstrapped')
    return { user, project }
  }

  /** Creates a role if it does not exist; returns it. */
  async ensureRole(name: string): Promise<IdentityRole> {
    const existing = await this.db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst()
    if (existing) return existing
    try {
      await this.db.insertInto('roles').values({ id: randomUUID().replace(/-/g, ''), name }).execute()
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
    }
    return this.db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirstOrThrow()
  }

  /** Creates a user in the default domain; a duplicate name is `CONFLICT`. */
  async createUser(input: { readonly name: string; readonly password: string; readonly defaultProjectId?: string | null; readonly enabled?: boolean; readonly id?: string }): Promise<IdentityUser> {
    if (!input.name || input.name.length > 255) throw new ComputeError('INVALID', 'user name must be 1 to 255 characters')
    const id = input.id ?? randomUUID().replace(/-/g, '')
    try {
      await this.db
        .insertInto('users')
        .values({
          id,
          name: input.name,
          domain_id: DEFAULT_DOMAIN_ID,
          password_hash: await this.hashPassword(input.password),
          enabled: input.enabled === false ? 0 : 1,
          default_project_id: input.defaultProjectId ?? null,
          created_at: isoNow(this.clock),
        })
        .execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw new ComputeError('CONFLICT', `Conflict occurred attempting to store user - Duplicate entry found with name ${input.name} at domain ID ${DEFAULT_DOMAIN_ID}.`, { cause: err })
      throw err
    }
    return this.getUser(id)
  }

  /** Creates a project in the default domain; a duplicate name is `CONFLICT`. */
  async createProject(input: { readonly name: string; readonly description?: string | null; readonly enabled?: boolean; readonly id?: string }): Promise<IdentityProject> {
    if (!input.name || input.name.length > 255) throw new ComputeError('INVALID', 'project name must be 1 to 255 characters')
    const id = input.id ?? randomUUID().replace(/-/g, '')
    try {
      await this.db
        .insertInto('projects')
        .values({ id, name: input.name, domain_id: DEFAULT_DOMAIN_ID, description: input.description ?? null, enabled: input.enabled === false ? 0 : 1, created_at: isoNow(this.clock) })
        .execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw new ComputeError('CONFLICT', `Conflict occurred attempting to store project - Duplicate entry found with name ${input.name} at domain ID ${DEFAULT_DOMAIN_ID}.`, { cause: err })
      throw err
    }
    return this.getProject(id)
  }

  /** Grants a role (by name, created if missing) to a user on a project. Idempotent. */
  async assignRole(userId: string, projectId: string, roleName: string): Promise<void> {
    const role = await this.ensureRole(roleName)
    await this.getUser(userId)
    await this.getProject(projectId)
    const existing = await this.db
      .selectFrom('role_assignments').select('role_id')
      .where('user_id', '=', userId).where('project_id', '=', projectId).where('role_id', '=', role.id)
      .executeTakeFirst()
    if (existing) return
    try {
      await this.db.insertInto('role_assignments').values({ user_id: userId, project_id: projectId, role_id: role.id }).execute()
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
    }
  }

  /** Removes a role assignment (no error if absent). Tokens already issued keep their roles until they expire. */
  async unassignRole(userId: string, projectId: string, roleName: string): Promise<void> {
    const role = await this.db.selectFrom('roles').selectAll().where('name', '=', roleName).executeTakeFirst()
    if (!role) return
    await this.db.deleteFrom('role_assignments').where('user_id', '=', userId).where('project_id', '=', projectId).where('role_id', '=', role.id).execute()
  }

  /** Replaces a user's password. */
  async setPassword(userId: string, password: string): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: await this.hashPassword(password) }).where('id', '=', userId).execute()
  }

  /** A user by id; `NOT_FOUND` otherwise. */
  async getUser(id: string): Promise<IdentityUser> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw new ComputeError('NOT_FOUND', `Could not find user: ${id}.`)
    return userFromRow(row)
  }

  /** A project by id; `NOT_FOUND` otherwise. */
  async getProject(id: string): Promise<IdentityProject> {
    const row = await this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw new ComputeError('NOT_FOUND', `Could not find project: ${id}.`)
    return projectFromRow(row)
  }

  /** A project by id or by name (in a domain given by id or name), or null. */
  async findProject(scope: ProjectScope): Promise<IdentityProject | null> {
    let q = this.db.selectFrom('projects').selectAll()
    if (scope.id !== undefined) q = q.where('id', '=', scope.id)
    else if (scope.name !== undefined) q = q.where('name', '=', scope.name).where('domain_id', '=', domainIdOf(scope.domain))
    else return null
    const row = await q.executeTakeFirst()
    return row ? projectFromRow(row) : null
  }

  /** Every project, by name. */
  async listProjects(): Promise<IdentityProject[]> {
    return (await this.db.selectFrom('projects').selectAll().orderBy('name').execute()).map(projectFromRow)
  }

  /** Every user, by name. */
  async listUsers(): Promise<IdentityUser[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('name').execute()).map(userFromRow)
  }

  /** The projects a user has any role on. */
  async listUserProjects(userId: string): Promise<IdentityProject[]> {
    const rows = await this.db
      .selectFrom('projects')
      .selectAll('projects')
      .where('id', 'in', (eb) => eb.selectFrom('role_assignments').select('project_id').where('user_id', '=', userId))
      .orderBy('name')
      .execute()
    return rows.map(projectFromRow)
  }

  /**
   * Password authentication (`POST /v3/auth/tokens`). With a project scope, the user needs a role on that
   * project; the token carries the roles (implied ones included). Any failure is `UNAUTHORIZED`.
   */
  async authenticate(req: AuthenticateRequest): Promise<AuthenticateResult> {
    const row = req.userId !== undefined
      ? await this.db.selectFrom('users').selectAll().where('id', '=', req.userId).executeTakeFirst()
      : req.userName !== undefined
        ? await this.db.selectFrom('users').selectAll().where('name', '=', req.userName).where('domain_id', '=', domainIdOf(req.domain)).executeTakeFirst()
        : undefined
    const passwordOk = row ? await this.verifyPassword(req.password, row.password_hash) : await this.verifyPassword(req.password, DUMMY_HASH)
    if (!row || !passwordOk || row.enabled !== 1) {
      this.logger.info({ user: req.userName ?? req.userId }, 'authentication failed')
      throw unauthorized()
    }
    const user = userFromRow(row)
    let project: IdentityProject | null = null
    let roles: IdentityRole[] = []
    if (req.project) {
      project = await this.findProject(req.project)
      if (!project || !project.enabled) throw unauthorized()
      roles = await this.rolesOn(user.id, project.id)
      if (roles.length === 0) throw unauthorized()
    }
    const token = randomBytes(32).toString('base64url')
    const issuedMs = this.clock.now()
    const issuedAt = new Date(issuedMs).toISOString()
    const expiresAt = new Date(issuedMs + this.tokenTtlMs).toISOString()
    await this.db
      .insertInto('tokens')
      .values({ id: tokenId(token), user_id: user.id, project_id: project?.id ?? null, roles: JSON.stringify(roles.map((r) => r.name)), issued_at: issuedAt, expires_at: expiresAt })
      .execute()
    return { token, issuedAt, expiresAt, user, project, roles }
  }

  /**
   * The {@link RequestContext} a token grants (a new request id each call), or `UNAUTHORIZED` for an unknown,
   * expired or revoked token. Results are cached for `validationCacheMs`.
   */
  async validateToken(token: string, requestId?: string): Promise<ValidatedToken> {
    if (!token) throw unauthorized()
    const id = tokenId(token)
    const now = this.clock.now()
    const cached = this.cache.get(id)
    if (cached && cached.until > now && Date.parse(cached.value.expiresAt) > now) {
      return { ...cached.value, context: { ...cached.value.context, requestId: requestId ?? newReqId() } }
    }
    this.cache.delete(id)
    const row = await this.db
      .selectFrom('tokens')
      .innerJoin('users', 'users.id', 'tokens.user_id')
      .leftJoin('projects', 'projects.id', 'tokens.project_id')
      .select([
        'tokens.user_id as userId', 'tokens.project_id as projectId', 'tokens.roles as roles', 'tokens.issued_at as issuedAt',
        'tokens.expires_at as expiresAt', 'users.name as userName', 'users.enabled as userEnabled', 'projects.name as projectName',
      ])
      .where('tokens.id', '=', id)
      .executeTakeFirst()
    if (!row || row.userEnabled !== 1 || Date.parse(row.expiresAt) <= now) throw unauthorized()
    const roles = JSON.parse(row.roles) as string[]
    const value: ValidatedToken = {
      context: {
        requestId: requestId ?? newReqId(),
        userId: row.userId,
        projectId: row.projectId,
        roles,
        isAdmin: roles.includes('admin'),
        userName: row.userName,
        ...(row.projectName !== null ? { projectName: row.projectName } : {}),
      },
      issuedAt: row.issuedAt,
      expiresAt: row.expiresAt,
    }
    if (this.cacheMs > 0) this.cache.set(id, { value, until: now + this.cacheMs })
    return value
  }

  /** Revokes a token (`DELETE /v3/auth/tokens`); an unknown token is `NOT_FOUND`. */
  async revokeToken(token: string): Promise<void> {
    const id = tokenId(token)
    this.cache.delete(id)
    const result = await this.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw new ComputeError('NOT_FOUND', 'Could not find token.')
  }

  /** Deletes expired tokens; returns how many. For a periodic task. */
  async purgeExpiredTokens(): Promise<number> {
    const result = await this.db.deleteFrom('tokens').where('expires_at', '<=', isoNow(this.clock)).executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  /** The roles (implied ones included) a user has on a project, by name. */
  async rolesOn(userId: string, projectId: string): Promise<IdentityRole[]> {
    const direct = await this.db
      .selectFrom('role_assignments')
      .innerJoin('roles', 'roles.id', 'role_assignments.role_id')
      .select(['roles.id as id', 'roles.name as name'])
      .where('role_assignments.user_id', '=', userId)
      .where('role_assignments.project_id', '=', projectId)
      .execute()
    const names = new Set(direct.map((r) => r.name))
    for (const r of direct) for (const implied of IMPLIED_ROLES[r.name] ?? []) names.add(implied)
    const all = await this.db.selectFrom('roles').selectAll().where('name', 'in', [...names, '']).execute()
    return all.filter((r) => names.has(r.name)).sort((a, b) => a.name.localeCompare(b.name))
  }

  private async findUserByName(name: string, domainId: string): Promise<IdentityUser | null> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).where('domain_id', '=', domainId).executeTakeFirst()
    return row ? userFromRow(row) : null
  }

  private async hashPassword(password: string): Promise<string> {
    const salt = randomBytes(16)
    const hash = await scrypt(password, salt, 32, { N: this.scryptCost, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
    return `scrypt$${this.scryptCost}$${salt.toString('base64')}$${hash.toString('base64')}`
  }

  private async verifyPassword(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$')
    // Accept both `scrypt$<N>$<salt>$<hash>` and the schema's documented `scrypt$<salt>$<hash>` (N = 16384).
    const [scheme, a, b, c] = parts
    if (scheme !== 'scrypt') return false
    const [cost, saltB64, hashB64] = parts.length === 4 ? [Number(a), b, c] : [16384, a, b]
    if (!saltB64 || !hashB64 || !Number.isInteger(cost)) return false
    const expected = Buffer.from(hashB64, 'base64')
    const actual = await scrypt(password, Buffer.from(saltB64, 'base64'), expected.length, { N: cost, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
    return actual.length === expected.length && timingSafeEqual(actual, expected)
  }
}

// A well-formed hash nobody's password matches, so that an unknown user costs as much time as a wrong password.
const DUMMY_HASH = `scrypt$16384$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`

function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function newReqId(): string {
  return `req-${randomUUID()}`
}

function unauthorized(): ComputeError {
  return new ComputeError('UNAUTHORIZED', UNAUTHORIZED_MESSAGE)
}

function domainIdOf(domain: string | undefined): string {
  if (domain === undefined || domain === DEFAULT_DOMAIN_ID || domain === DEFAULT_DOMAIN_NAME) return DEFAULT_DOMAIN_ID
  return domain
}

function userFromRow(row: { id: string; name: string; domain_id: string; enabled: number; default_project_id: string | null; created_at: string }): IdentityUser {
  return { id: row.id, name: row.name, domainId: row.domain_id, enabled: row.enabled === 1, defaultProjectId: row.default_project_id, createdAt: row.created_at }
}

function projectFromRow(row: { id: string; name: string; domain_id: string; description: string | null; enabled: number; created_at: string }): IdentityProject {
  return { id: row.id, name: row.name, domainId: row.domain_id, description: row.description, enabled: row.enabled === 1, createdAt: row.created_at }
}
