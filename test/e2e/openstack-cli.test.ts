import { describe, expect, it } from 'vitest'
import {
  OpenstackCliError,
  childEnv,
  openrcEnv,
  openstackCliSkipReason,
  openstackJson,
  runOpenstack,
} from './openstack-cli.js'

// These run the real CLI and need no server: `--version`, `module list` and an unknown command are local.
// Skipping is allowed only with NOVUM_SKIP_OPENSTACK_CLI=1 outside CI; openstackCliSkipReason throws in CI.
const skipReason = openstackCliSkipReason()

describe('openstack CLI harness', () => {
  describe.skipIf(skipReason !== undefined)('with the real CLI', () => {
    it('runs `openstack --version`', async () => {
      const result = await runOpenstack(['--version'], {})
      expect(result.code).toBe(0)
      // python-openstackclient ≥ 5 prints the version on stdout, older releases on stderr.
      expect(`${result.stdout}${result.stderr}`).toMatch(/^openstack \d+\.\d+\.\d+/m)
    })

    it('parses `-f json` output', async () => {
      const modules = await openstackJson<Record<string, string>>(['module', 'list'], {})
      expect(modules['openstackclient']).toMatch(/^\d+\.\d+/)
    })

    it('rejects with an error that carries stderr and the exit code when the command fails', async () => {
      // No OS_AUTH_URL: the CLI fails before any network I/O and says why on stderr.
      const failure = await runOpenstack(['server', 'list'], {}).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(failure).toBeInstanceOf(OpenstackCliError)
      const error = failure as OpenstackCliError
      expect(error.result.code).toBe(1)
      expect(error.stderr).toContain('Missing value auth-url')
      expect(error.message).toContain('`openstack server list` failed with exit code 1')
      expect(error.message).toContain('Missing value auth-url')
      expect(error.args).toEqual(['server', 'list'])
    })

    it('puts stdout in the error too, where cliff prints usage errors', async () => {
      const failure = await runOpenstack(['no-such-command'], {}).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(failure).toBeInstanceOf(OpenstackCliError)
      expect((failure as OpenstackCliError).result.code).toBe(2)
      expect((failure as Error).message).toContain("'no-such-command' is not an openstack command")
    })

    it('resolves with the failed result when allowFailure is set', async () => {
      const result = await runOpenstack(['server', 'list'], {}, { allowFailure: true })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain('Missing value auth-url')
    })

    it('passes the openrc environment to the CLI', async () => {
      // The auth URL reaches keystoneauth, which refuses a port nothing listens on (port 9, discard).
      const env = openrcEnv({ authUrl: 'http://127.0.0.1:9/v3', username: 'u', password: 'p', projectName: 'p' })
      const result = await runOpenstack(['server', 'list'], env, { allowFailure: true })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain('http://127.0.0.1:9/v3')
    })
  })

  it('rejects with a hint when the CLI cannot be started', async () => {
    const failure = await runOpenstack(['--version'], {}, { command: 'novum-no-such-openstack-cli' }).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(OpenstackCliError)
    expect((failure as Error).message).toContain('ENOENT (is python3-openstackclient installed?)')
  })

  describe(openrcEnv.name, () => {
    it('fills in what an openrc file sets', () => {
      expect(openrcEnv({ authUrl: 'http://127.0.0.1:5000/v3', username: 'admin', password: 'pw', projectName: 'admin' })).toEqual({
        OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
        OS_IDENTITY_API_VERSION: '3',
        OS_USERNAME: 'admin',
        OS_PASSWORD: 'pw',
        OS_PROJECT_NAME: 'admin',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
        OS_REGION_NAME: 'RegionOne',
        OS_INTERFACE: 'public',
      })
    })

    it('lets extra variables win', () => {
      const env = openrcEnv({
        authUrl: 'http://127.0.0.1:5000/v3',
        username: 'demo',
        password: 'pw',
        projectName: 'demo',
        regionName: 'RegionTwo',
        extra: { OS_COMPUTE_API_VERSION: '2.79', OS_INTERFACE: 'internal' },
      })
      expect(env).toMatchObject({ OS_REGION_NAME: 'RegionTwo', OS_COMPUTE_API_VERSION: '2.79', OS_INTERFACE: 'internal' })
    })
  })

  describe(childEnv.name, () => {
    it("drops the caller's OS_* variables and keeps the rest", () => {
      const env = childEnv({ OS_USERNAME: 'test' }, { PATH: '/usr/bin', OS_CLOUD: 'production', OS_PASSWORD: 'operator' })
      expect(env).toEqual({ PATH: '/usr/bin', OS_USERNAME: 'test', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' })
    })
  })

  describe(openstackCliSkipReason.name, () => {
    it.each([
      { env: {}, skip: undefined },
      { env: { NOVUM_SKIP_OPENSTACK_CLI: '1' }, skip: 'NOVUM_SKIP_OPENSTACK_CLI=1' },
      { env: { NOVUM_SKIP_OPENSTACK_CLI: '1', CI: 'false' }, skip: 'NOVUM_SKIP_OPENSTACK_CLI=1' },
      { env: { NOVUM_SKIP_OPENSTACK_CLI: '0', CI: 'true' }, skip: undefined },
    ])('env=$env → skip=$skip', ({ env, skip }) => {
      expect(openstackCliSkipReason(env)).toBe(skip)
    })

    it('refuses the opt-out in CI', () => {
      expect(() => openstackCliSkipReason({ NOVUM_SKIP_OPENSTACK_CLI: '1', CI: 'true' })).toThrow(/refused in CI/)
    })
  })
})
