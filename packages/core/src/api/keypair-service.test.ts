import { execFileSync } from 'node:child_process'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateSshKeypair, keypairFingerprint, parseSshPublicKey, toOpenSshPublicKey, validateKeypairName } from './keypair-service.js'

function hasSshKeygen(): boolean {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' })
    return true
  } catch (err) {
    return (err as { status?: number }).status !== undefined && (err as { code?: string }).code !== 'ENOENT'
  }
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function sshKeygenMd5(publicKey: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'novum-kp-'))
  try {
    const file = join(dir, 'key.pub')
    writeFileSync(file, `${publicKey}\n`)
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', file]).toString()
    const m = /MD5:([0-9a-f:]+)/.exec(out)
    if (!m?.[1]) throw new Error(`unexpected ssh-keygen output: ${out}`)
    return m[1]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// A fixed RSA public key, so this expectation does not depend on a tool being installed.
const RSA_KEY =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8JttDCE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova'

describe('keypair helpers', () => {
  describe(keypairFingerprint.name, () => {
    it('is the colon-separated MD5 of the decoded blob', () => {
      const fp = keypairFingerprint(RSA_KEY)
      expect(fp).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/)
      const b64 = RSA_KEY.split(' ')[1] as string
      expect(fp.replace(/:/g, '')).toBe(createHash('md5').update(Buffer.from(b64, 'base64')).digest('hex'))
    })

    it.skipIf(!hasSshKeygen())('matches ssh-keygen -l -E md5 for rsa, ed25519 and ecdsa keys', () => {
      const rsa = toOpenSshPublicKey(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, 'a@b')
      const ed = toOpenSshPublicKey(generateKeyPairSync('ed25519').publicKey)
      for (const key of [RSA_KEY, rsa, ed]) expect(keypairFingerprint(key)).toBe(sshKeygenMd5(key))
      const ecdsaDir = mkdtempSync(join(tmpdir(), 'novum-ec-'))
      try {
        execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', join(ecdsaDir, 'k')])
        const ecdsa = readFileSync(join(ecdsaDir, 'k.pub'), 'utf8').trim()
        expect(keypairFingerprint(ecdsa)).toBe(sshKeygenMd5(ecdsa))
      } finally {
        rmSync(ecdsaDir, { recursive: true, force: true })
      }
    })

    it.each([
      ['not a key', 'garbage'],
      ['a bad base64 body', 'ssh-rsa !!!notbase64'],
      ['a type mismatch', RSA_KEY.replace(/^ssh-rsa/, 'ssh-ed25519')],
      ['a truncated blob', `ssh-rsa ${(RSA_KEY.split(' ')[1] as string).slice(0, 40)}`],
      ['an unknown type', `ssh-foo ${Buffer.from('\u0000\u0000\u0000\u0007ssh-foo').toString('base64')}`],
    ])('rejects %s with Nova\'s message', (_what, key) => {
      expect(() => keypairFingerprint(key)).toThrowError('Keypair data is invalid: failed to generate fingerprint')
    })

    it.skipIf(!hasOpenssl())('fingerprints an x509 certificate with the SHA-1 openssl prints', () => {
      const dir = mkdtempSync(join(tmpdir(), 'novum-x509-'))
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=novum'], { stdio: 'ignore' })
        const pem = readFileSync(join(dir, 'c.pem'), 'utf8')
        const out = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha1', '-in', join(dir, 'c.pem')]).toString()
        const expected = (/=([0-9A-F:]+)/.exec(out)?.[1] ?? '').toLowerCase()
        expect(expected).toMatch(/^([0-9a-f]{2}:){19}[0-9a-f]{2}$/)
        expect(keypairFingerprint(pem, 'x509')).toBe(expected)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('rejects a malformed x509 certificate', () => {
      expect(() => keypairFingerprint('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'x509')).toThrowError(
        'Keypair data is invalid: failed to generate X509 fingerprint',
      )
    })
  })

  describe(parseSshPublicKey.name, () => {
    it('returns type, blob and comment', () => {
      const parsed = parseSshPublicKey(RSA_KEY)
      expect(parsed.type).toBe('ssh-rsa')
      expect(parsed.comment).toBe('Generated-by-Nova')
      expect(parsed.blob.subarray(4, 11).toString()).toBe('ssh-rsa')
    })
  })

  describe(generateSshKeypair.name, () => {
    it('returns a PKCS#1 PEM private key and a valid OpenSSH public key commented Generated-by-Nova', async () => {
      const { privateKey, publicKey } = await generateSshKeypair(1024)
      expect(privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/)
      expect(publicKey).toMatch(/^ssh-rsa AAAA[A-Za-z0-9+/=]+ Generated-by-Nova$/)
      expect(keypairFingerprint(publicKey)).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/)
    })
  })

  describe(validateKeypairName.name, () => {
    it.each(['key', 'my key_1-2', 'x'.repeat(255)])('accepts %j', (name) => {
      expect(() => validateKeypairName(name)).not.toThrow()
    })
    it.each([
      ['', 'Keypair data is invalid: Keypair name must be string and between 1 and 255 characters long'],
      ['x'.repeat(256), 'Keypair data is invalid: Keypair name must be string and between 1 and 255 characters long'],
      ['test/keypair', 'Keypair data is invalid: Keypair name contains unsafe characters'],
      ['a@b.c', 'Keypair data is invalid: Keypair name contains unsafe characters'],
    ])('rejects %j', (name, message) => {
      expect(() => validateKeypairName(name)).toThrowError(message)
    })
    it('allows @ and . from 2.92', () => {
      expect(() => validateKeypairName('a@b.c', true)).not.toThrow()
    })
  })
})
