import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The admin's credentials as an openrc file states them. */
export interface AdminCredentials {
  readonly userName: string
  readonly password: string
  readonly projectName: string
  readonly domain: string
}

/**
 * The admin password: `given` when set, else the one kept in `dataDir/admin-password`, else a new one stored there
 * (mode 0600), so a restart keeps the password of the first start.
 */
export function storedAdminPassword(dataDir: string, given: string | null | undefined): string {
  if (given) return given
  const file = join(dataDir, 'admin-password')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  const generated = randomBytes(18).toString('base64url')
  writeFileSync(file, `${generated}\n`, { mode: 0o600 })
  return generated
}

/** An openrc file for the `openstack` CLI: `heading` is its first comment line, `identityUrl` Keystone's root. */
export function openrcText(heading: string, identityUrl: string, c: AdminCredentials): string {
  const q = (v: string) => `'${v.replaceAll("'", "'\\''")}'`
  return [
    `# ${heading}`,
    `export OS_AUTH_URL=${q(`${identityUrl}/v3`)}`,
    'export OS_IDENTITY_API_VERSION=3',
    `export OS_USERNAME=${q(c.userName)}`,
    `export OS_PASSWORD=${q(c.password)}`,
    `export OS_PROJECT_NAME=${q(c.projectName)}`,
    `export OS_USER_DOMAIN_NAME=${q(c.domain)}`,
    `export OS_PROJECT_DOMAIN_NAME=${q(c.domain)}`,
    "export OS_REGION_NAME='RegionOne'",
    "export OS_INTERFACE='public'",
    '',
  ].join('\n')
}
