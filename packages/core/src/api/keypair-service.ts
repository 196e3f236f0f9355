import { createHash, createPublicKey, generateKeyPair as generateKeyPairCb, X509Certificate, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import type { Selectable } from 'kysely'
import type { RequestContext } from '../context.js'
import type { NovumDb } from '../db/create-database.js'
import type { KeyPairsTable } from '../db/database.js'
import { ComputeError } from '../errors/compute-error.js'
import { Policy } from '../policy/policy.js'
import type { QuotaService } from '../quota/quota-service.js'
import { isoNow, systemClock, type Clock } from '../util/clock.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { isUniqueViolation } from './db-errors.js'

const generateKeyPair = promisify(generateKeyPairCb)

/** Keypair types (2.2). */
export type KeypairType = 'ssh' | 'x509'

/** A stored keypair (`GET /os-keypairs/{name}`). */
export interface Keypair {
  readonly id: number
  readonly name: string
  readonly userId: string
  /** MD5 colon hex of the key blob (ssh) or SHA-1 colon hex of the certificate (x509), as Nova computes them. */
  readonly fingerprint: string
  readonly publicKey: string
  readonly type: KeypairType
  readonly createdAt: string
}

/** A keypair just created: the private key is returned once, when Novum generated it. */
export interface CreatedKeypair extends Keypair {
  /** PEM private key (PKCS#1 `RSA PRIVATE KEY`), or null when the public key was imported. */
  readonly privateKey: string | null
}

/** `POST /os-keypairs`. */
export interface KeypairCreateRequest {
  readonly name: string
  /** An OpenSSH public key line (ssh) or a PEM certificate (x509); generated when omitted (≤ 2.91). */
  readonly publicKey?: string | null
  /** @default 'ssh' */
  readonly type?: KeypairType
  /** 2.10: an admin may create a keypair for another user. */
  readonly userId?: string
  /** 2.92: names may also contain `@` and `.`. @default false */
  readonly allowExtendedNameChars?: boolean
}

/** Paging of {@link KeypairService.list} (2.35). */
export interface KeypairListOptions {
  /** 2.10: admin only. */
  readonly userId?: string
  readonly limit?: number
  /** Name of the last keypair of the previous page. */
  readonly marker?: string
}

/** Options of {@link KeypairService}. */
export interface KeypairServiceConfig {
  /** RSA modulus of generated keys. @default 2048 */
  readonly rsaBits?: number
}

type KeypairRow = Selectable<KeyPairsTable>

const SAFE_NAME = /^[a-zA-Z0-9_\- ]*$/
const SAFE_NAME_292 = /^[a-zA-Z0-9_\- @.]*$/

/**
 * Keypairs, owned per user (Nova `KeypairAPI`): create (generate or import), list, show, delete, with the
 * `key_pairs` quota (403 "Maximum number of key pairs exceeded"), duplicate names (409) and Nova's
 * fingerprints. Generated keys are RSA in OpenSSH format, commented `Generated-by-Nova` as Nova does.
 */
export class KeypairService {
  private readonly rsaBits: number

  constructor(
    private readonly db: NovumDb,
    private readonly quotas: QuotaService,
    private readonly policy: Policy = new Policy(),
    private readonly clock: Clock = systemClock,
    private readonly logger: Logger = silentLogger,
    config: KeypairServiceConfig = {},
  ) {
    this.rsaBits = config.rsaBits ?? 2048
  }

  /**
   * Creates a keypair. With `publicKey` it is imported (validated; garbage is `INVALID` "Keypair data is invalid:
   * failed to generate fingerprint"); without, an RSA key is generated and its private key returned.
   */
  async create(ctx: RequestContext, req: KeypairCreateRequest): Promise<CreatedKeypair> {
    const userId = this.ownerFor(ctx, req.userId, 'os_compute_api:os-keypairs:create')
    const type = req.type ?? 'ssh'
    if (type !== 'ssh' && type !== 'x509') throw new ComputeError('INVALID', `Keypair data is invalid: invalid keypair type ${String(type)}`)
    validateKeypairName(req.name, req.allowExtendedNameChars ?? false)
    await this.quotas.checkKeyPairs(ctx, userId, 1, ctx.userId === userId ? ctx.projectId : null)
    let publicKey: string
    let privateKey: string | null = null
    if (req.publicKey === undefined || req.publicKey === null) {
      if (type === 'x509') throw new ComputeError('INVALID', 'Keypair data is invalid: generating x509 keypairs is not supported; import a certificate instead')
      const generated = await generateSshKeypair(this.rsaBits)
      publicKey = generated.publicKey
      privateKey = generated.privateKey
    } else {
      publicKey = req.publicKey.trim()
    }
    const fingerprint = keypairFingerprint(publicKey, type)
    await this.ensureAbsent(userId, req.name)
    try {
      await this.db
        .insertInto('key_pairs')
        .values({ name: req.name, user_id: userId, fingerprint, public_key: publicKey, type, created_at: isoNow(this.clock) })
        .execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw keypairExists(req.name, err)
      throw err
    }
    this.logger.info({ req_id: ctx.requestId, userId, name: req.name, generated: privateKey !== null }, 'keypair created')
    return { ...(await this.requireRow(userId, req.name)), privateKey }
  }

  /** Imports a public key (a {@link KeypairService.create} that requires `publicKey`). */
  async import(ctx: RequestContext, req: KeypairCreateRequest & { readonly publicKey: string }): Promise<Keypair> {
    const { privateKey: _unused, ...keypair } = await this.create(ctx, req)
    return keypair
  }

  /** The caller's keypairs (or another user's, for an admin), by name. */
  async list(ctx: RequestContext, options: KeypairListOptions = {}): Promise<Keypair[]> {
    const userId = this.ownerFor(ctx, options.userId, 'os_compute_api:os-keypairs:index')
    let q = this.db.selectFrom('key_pairs').selectAll().where('user_id', '=', userId).orderBy('name').orderBy('id')
    if (options.marker !== undefined) {
      const marker = await this.db.selectFrom('key_pairs').select('name').where('user_id', '=', userId).where('name', '=', options.marker).executeTakeFirst()
      if (!marker) throw new ComputeError('INVALID', `marker [${options.marker}] not found`)
      q = q.where('name', '>', options.marker)
    }
    if (options.limit !== undefined) q = q.limit(options.limit)
    return (await q.execute()).map(keypairFromRow)
  }

  /** One keypair; missing is `NOT_FOUND` "Keypair <name> not found for user <user_id>". */
  async get(ctx: RequestContext, name: string, userId?: string): Promise<Keypair> {
    const owner = this.ownerFor(ctx, userId, 'os_compute_api:os-keypairs:show')
    return this.requireRow(owner, name)
  }

  /** Deletes a keypair (running servers keep their copy of the key). */
  async delete(ctx: RequestContext, name: string, userId?: string): Promise<void> {
    const owner = this.ownerFor(ctx, userId, 'os_compute_api:os-keypairs:delete')
    const result = await this.db.deleteFrom('key_pairs').where('user_id', '=', owner).where('name', '=', name).executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) throw keypairNotFound(name, owner)
    this.logger.info({ req_id: ctx.requestId, userId: owner, name }, 'keypair deleted')
  }

  /** The keypair a new server names (no policy check); a missing one is `null`. */
  async find(userId: string, name: string): Promise<Keypair | null> {
    const row = await this.db.selectFrom('key_pairs').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst()
    return row ? keypairFromRow(row) : null
  }

  private ownerFor(ctx: RequestContext, userId: string | undefined, rule: string): string {
    const owner = userId ?? ctx.userId
    if (!owner) throw new ComputeError('INVALID', 'a user is needed to manage keypairs')
    this.policy.authorize(ctx, rule, { userId: owner })
    return owner
  }

  private async ensureAbsent(userId: string, name: string): Promise<void> {
    const existing = await this.db.selectFrom('key_pairs').select('id').where('user_id', '=', userId).where('name', '=', name).executeTakeFirst()
    if (existing) throw keypairExists(name)
  }

  private async requireRow(userId: string, name: string): Promise<Keypair> {
    const row = await this.db.selectFrom('key_pairs').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst()
    if (!row) throw keypairNotFound(name, userId)
    return keypairFromRow(row)
  }
}

function keypairFromRow(row: KeypairRow): Keypair {
  return {
    id: row.id,
    name: row.name,
    userId: row.user_id,
    fingerprint: row.fingerprint,
    publicKey: row.public_key,
    type: row.type as KeypairType,
    createdAt: row.created_at,
  }
}

function keypairExists(name: string, cause?: unknown): ComputeError {
  return new ComputeError('CONFLICT', `Key pair '${name}' already exists.`, cause === undefined ? undefined : { cause })
}

function keypairNotFound(name: string, userId: string): ComputeError {
  return new ComputeError('NOT_FOUND', `Keypair ${name} not found for user ${userId}`, { details: { name, userId } })
}

/**
 * Nova's keypair name check: 1–255 characters of letters, digits, `_`, `-` and space (2.92 adds `@` and `.`).
 * Throws `INVALID` "Keypair data is invalid: …" otherwise.
 */
export function validateKeypairName(name: unknown, allowExtendedChars = false): void {
  if (typeof name !== 'string') throw new ComputeError('INVALID', 'Keypair data is invalid: Keypair name must be string and between 1 and 255 characters long')
  if (!(allowExtendedChars ? SAFE_NAME_292 : SAFE_NAME).test(name)) {
    throw new ComputeError('INVALID', 'Keypair data is invalid: Keypair name contains unsafe characters')
  }
  if (name.length < 1 || name.length > 255) {
    throw new ComputeError('INVALID', 'Keypair data is invalid: Keypair name must be string and between 1 and 255 characters long')
  }
}

/**
 * Nova's fingerprint of a public key: for `ssh`, the MD5 of the base64-decoded key blob as colon-separated
 * lower-case hex (what `ssh-keygen -l -E md5` prints after `MD5:`); for `x509`, the SHA-1 of the certificate.
 * The key is validated first; a malformed one is `INVALID` with Nova's message.
 */
export function keypairFingerprint(publicKey: string, type: KeypairType = 'ssh'): string {
  if (type === 'x509') {
    try {
      return new X509Certificate(publicKey).fingerprint.toLowerCase()
    } catch (err) {
      throw new ComputeError('INVALID', 'Keypair data is invalid: failed to generate X509 fingerprint', { cause: err })
    }
  }
  let blob: Buffer
  try {
    blob = parseSshPublicKey(publicKey).blob
  } catch (err) {
    throw new ComputeError('INVALID', 'Keypair data is invalid: failed to generate fingerprint', { cause: err })
  }
  return colonHex(createHash('md5').update(blob).digest('hex'))
}

function colonHex(hex: string): string {
  return hex.match(/../g)?.join(':') ?? ''
}

/** A parsed OpenSSH public key line. */
export interface SshPublicKey {
  /** `ssh-rsa`, `ssh-ed25519`, `ecdsa-sha2-nistp256`, … */
  readonly type: string
  /** The decoded key blob. */
  readonly blob: Buffer
  readonly comment: string
}

const EC_CURVES: Readonly<Record<string, { readonly name: string; readonly crv: string; readonly size: number }>> = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', crv: 'P-256', size: 32 },
  'ecdsa-sha2-nistp384': { name: 'nistp384', crv: 'P-384', size: 48 },
  'ecdsa-sha2-nistp521': { name: 'nistp521', crv: 'P-521', size: 66 },
}

/**
 * Parses and validates an OpenSSH public key line (`<type> <base64> [comment]`): the blob must name the same
 * type and hold a well-formed key of it (RSA, Ed25519 and ECDSA keys are loaded with `node:crypto`; DSA is
 * checked structurally). Throws a plain `Error` describing the defect.
 */
export function parseSshPublicKey(line: string): SshPublicKey {
  const parts = line.trim().split(/\s+/)
  const [type, b64, ...rest] = parts
  if (!type || !b64) throw new Error('expected "<type> <base64> [comment]"')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('key data is not base64')
  const blob = Buffer.from(b64, 'base64')
  const reader = new SshReader(blob)
  const inner = reader.string().toString('latin1')
  if (inner !== type) throw new Error(`key type ${type} does not match the blob's ${inner}`)
  const jwkOf = (): JsonWebKeyInput | null => {
    switch (type) {
      case 'ssh-rsa': {
        const e = reader.mpint()
        const n = reader.mpint()
        return { kty: 'RSA', e: e.toString('base64url'), n: n.toString('base64url') }
      }
      case 'ssh-ed25519': {
        const key = reader.string()
        if (key.length !== 32) throw new Error('an ed25519 key is 32 bytes')
        return { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }
      }
      case 'ssh-dss': {
        for (let i = 0; i < 4; i++) if (reader.mpint().length === 0) throw new Error('empty DSA parameter')
        return null
      }
      default: {
        const curve = EC_CURVES[type]
        if (!curve) throw new Error(`unsupported key type ${type}`)
        if (reader.string().toString('latin1') !== curve.name) throw new Error('curve name does not match the key type')
        const q = reader.string()
        if (q.length !== 1 + 2 * curve.size || q[0] !== 4) throw new Error('expected an uncompressed EC point')
        return {
          kty: 'EC',
          crv: curve.crv,
          x: q.subarray(1, 1 + curve.size).toString('base64url'),
          y: q.subarray(1 + curve.size).toString('base64url'),
        }
      }
    }
  }
  const jwk = jwkOf()
  if (!reader.done()) throw new Error('trailing data after the key')
  if (jwk) createPublicKey({ key: jwk, format: 'jwk' })
  return { type, blob, comment: rest.join(' ') }
}

type JsonWebKeyInput = { readonly kty: string } & Readonly<Record<string, string>>

class SshReader {
  private at = 0
  constructor(private readonly buf: Buffer) {}
  string(): Buffer {
    if (this.at + 4 > this.buf.length) throw new Error('truncated key blob')
    const len = this.buf.readUInt32BE(this.at)
    this.at += 4
    if (this.at + len > this.buf.length) throw new Error('truncated key blob')
    const out = this.buf.subarray(this.at, this.at + len)
    this.at += len
    return out
  }
  mpint(): Buffer {
    const raw = this.string()
    let i = 0
    while (i < raw.length - 1 && raw[i] === 0) i++
    return raw.subarray(i)
  }
  done(): boolean {
    return this.at === this.buf.length
  }
}

function sshString(data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  return Buffer.concat([len, data])
}

function sshMpint(unsigned: Buffer): Buffer {
  let i = 0
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++
  const trimmed = unsigned.subarray(i)
  return sshString((trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed)
}

/** Encodes a public key object as an OpenSSH `ssh-rsa` or `ssh-ed25519` line. */
export function toOpenSshPublicKey(key: KeyObject, comment = ''): string {
  const jwk = key.export({ format: 'jwk' })
  let blob: Buffer
  if (jwk.kty === 'RSA' && jwk.n && jwk.e) {
    blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshMpint(Buffer.from(jwk.e, 'base64url')), sshMpint(Buffer.from(jwk.n, 'base64url'))])
    return `ssh-rsa ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x) {
    blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(jwk.x, 'base64url'))])
    return `ssh-ed25519 ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`
  }
  throw new Error(`cannot encode a ${String(jwk.kty)} key in OpenSSH format`)
}

/** Generates an RSA keypair as Nova does: PEM (PKCS#1) private key and an OpenSSH public key `… Generated-by-Nova`. */
export async function generateSshKeypair(bits = 2048): Promise<{ readonly privateKey: string; readonly publicKey: string }> {
  const { publicKey, privateKey } = await generateKeyPair('rsa', { modulusLength: bits, publicExponent: 65537 })
  return {
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKey: toOpenSshPublicKey(publicKey, 'Generated-by-Nova'),
  }
}
