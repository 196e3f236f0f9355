/**
 * A harness for e2e tests that drive the real `openstack` CLI (Debian's python3-openstackclient, with
 * python3-osc-placement) against a Novum server: the CLI is the client users have, so these tests check wire
 * compatibility rather than our own idea of it.
 *
 * The CLI runs through `execFile` (no shell, so arguments need no quoting), with an environment built from an
 * openrc-like object. Every `OS_*` variable of the calling process is dropped first, so an operator's own cloud
 * credentials can never leak into a test.
 *
 * @example
 * ```ts
 * const env = openrcEnv({ authUrl: 'http://127.0.0.1:5000/v3', username: 'admin', password: 'secret', projectName: 'admin' })
 * const servers = await openstackJson<{ ID: string; Name: string }[]>(['server', 'list'], env)
 * ```
 */
import { execFile } from 'node:child_process'

/** The `OS_*` variables the harness passes to the CLI (the ones an openrc file sets). */
export interface OpenstackEnv {
  readonly OS_AUTH_URL?: string
  readonly OS_IDENTITY_API_VERSION?: string
  readonly OS_USERNAME?: string
  readonly OS_PASSWORD?: string
  readonly OS_PROJECT_NAME?: string
  readonly OS_USER_DOMAIN_NAME?: string
  readonly OS_PROJECT_DOMAIN_NAME?: string
  readonly OS_REGION_NAME?: string
  readonly OS_INTERFACE?: string
  /** Any other `OS_*` setting, e.g. `OS_COMPUTE_API_VERSION` or `OS_PLACEMENT_API_VERSION`. */
  readonly [name: `OS_${string}`]: string | undefined
}

/** An openrc file as an object; {@link openrcEnv} turns it into {@link OpenstackEnv}. */
export interface OpenRc {
  /** Keystone's URL, including `/v3`. */
  readonly authUrl: string
  readonly username: string
  readonly password: string
  readonly projectName: string
  /** @default 'Default' */
  readonly userDomainName?: string
  /** @default 'Default' */
  readonly projectDomainName?: string
  /** @default 'RegionOne' */
  readonly regionName?: string
  /** @default 'public' */
  readonly interface?: 'public' | 'internal' | 'admin'
  /** Extra `OS_*` variables, e.g. `{ OS_COMPUTE_API_VERSION: '2.79' }`; they win over the fields above. */
  readonly extra?: OpenstackEnv
}

/** Builds the CLI's environment from an openrc-like object, filling in what DevStack's openrc would. */
export function openrcEnv(rc: OpenRc): OpenstackEnv {
  return {
    OS_AUTH_URL: rc.authUrl,
    OS_IDENTITY_API_VERSION: '3',
    OS_USERNAME: rc.username,
    OS_PASSWORD: rc.password,
    OS_PROJECT_NAME: rc.projectName,
    OS_USER_DOMAIN_NAME: rc.userDomainName ?? 'Default',
    OS_PROJECT_DOMAIN_NAME: rc.projectDomainName ?? 'Default',
    OS_REGION_NAME: rc.regionName ?? 'RegionOne',
    OS_INTERFACE: rc.interface ?? 'public',
    ...rc.extra,
  }
}

/** Options for {@link runOpenstack}. */
export interface RunOpenstackOptions {
  /** Kill the CLI (SIGTERM) after this long and reject. @default 120_000 */
  readonly timeoutMs?: number
  /** Resolve with the result when the CLI exits non-zero, instead of rejecting. @default false */
  readonly allowFailure?: boolean
  /** The executable to run. @default 'openstack' */
  readonly command?: string
  /** Working directory of the CLI. @default the current one */
  readonly cwd?: string
}

/** What one CLI run produced. `code` is null when the CLI was killed by a signal. */
export interface OpenstackResult {
  readonly stdout: string
  readonly stderr: string
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A CLI run that failed: exited non-zero, timed out, could not start, or printed output that was not JSON. */
export class OpenstackCliError extends Error {
  override readonly name = 'OpenstackCliError'

  constructor(
    message: string,
    /** The arguments the CLI was run with (never the environment, which holds the password). */
    readonly args: readonly string[],
    readonly result: OpenstackResult,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }

  /** The CLI's standard error; it carries the API's error message, e.g. `Conflict (HTTP 409)`. */
  get stderr(): string {
    return this.result.stderr
  }
}

/**
 * The child's environment: the caller's environment without any `OS_*` variable (no ambient credentials or
 * `OS_CLOUD`), then `env`. Python is told not to buffer and not to write bytecode next to system packages.
 */
export function childEnv(env: OpenstackEnv, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(base)) if (!name.startsWith('OS_')) result[name] = value
  for (const [name, value] of Object.entries(env)) if (value !== undefined) result[name] = value
  result['PYTHONUNBUFFERED'] = '1'
  result['PYTHONDONTWRITEBYTECODE'] = '1'
  return result
}

const describeRun = (command: string, args: readonly string[]): string => [command, ...args].join(' ')

/** stderr first (the API's error), then stdout when there is any: cliff prints some usage errors there. */
const describeOutput = (stdout: string, stderr: string): string =>
  `\nstderr:\n${stderr}` + (stdout.trim() === '' ? '' : `\nstdout:\n${stdout.length > 4000 ? `${stdout.slice(0, 4000)}…` : stdout}`)

/**
 * Runs `openstack <args>` and resolves with its output. Rejects with an {@link OpenstackCliError} whose message
 * includes stderr when the CLI exits non-zero (unless `allowFailure`), times out, or cannot be started (for
 * example when python3-openstackclient is not installed).
 */
export function runOpenstack(
  args: readonly string[],
  env: OpenstackEnv,
  options: RunOpenstackOptions = {},
): Promise<OpenstackResult> {
  const command = options.command ?? 'openstack'
  const timeoutMs = options.timeoutMs ?? 120_000
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      {
        env: childEnv(env),
        cwd: options.cwd,
        timeout: timeoutMs,
        killSignal: 'SIGTERM',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr, code: 0, signal: null })
          return
        }
        const spawnCode = typeof error.code === 'string' ? error.code : undefined
        const result: OpenstackResult = {
          stdout,
          stderr,
          code: typeof error.code === 'number' ? error.code : null,
          signal: error.signal ?? null,
        }
        const run = describeRun(command, args)
        if (spawnCode !== undefined) {
          const hint = spawnCode === 'ENOENT' ? ' (is python3-openstackclient installed?)' : ''
          reject(new OpenstackCliError(`\`${run}\` could not be started: ${spawnCode}${hint}`, args, result, { cause: error }))
        } else if (error.killed && result.code === null) {
          reject(new OpenstackCliError(`\`${run}\` timed out after ${timeoutMs} ms${describeOutput(stdout, stderr)}`, args, result, { cause: error }))
        } else if (options.allowFailure) {
          resolve(result)
        } else {
          const status = result.code !== null ? `exit code ${result.code}` : `signal ${result.signal ?? 'unknown'}`
          reject(new OpenstackCliError(`\`${run}\` failed with ${status}${describeOutput(stdout, stderr)}`, args, result, { cause: error }))
        }
      },
    )
  })
}

/**
 * Runs `openstack <args> -f json` and parses stdout. Use it with `list`, `show` and `create` commands; rejects with
 * an {@link OpenstackCliError} when the command fails or prints something that is not JSON.
 *
 * @example
 * ```ts
 * const flavor = await openstackJson<{ id: string; ram: number }>(['flavor', 'show', 'm1.tiny'], env)
 * ```
 */
export async function openstackJson<T = unknown>(
  args: readonly string[],
  env: OpenstackEnv,
  options: Omit<RunOpenstackOptions, 'allowFailure'> = {},
): Promise<T> {
  const fullArgs = [...args, '-f', 'json']
  const result = await runOpenstack(fullArgs, env, options)
  try {
    return JSON.parse(result.stdout) as T
  } catch (error) {
    const run = describeRun(options.command ?? 'openstack', fullArgs)
    throw new OpenstackCliError(`\`${run}\` printed no JSON:\n${result.stdout}\nstderr:\n${result.stderr}`, fullArgs, result, {
      cause: error,
    })
  }
}

/**
 * Why the tests that need the CLI may be skipped here, or undefined when they must run. They may be skipped only
 * with `NOVUM_SKIP_OPENSTACK_CLI=1` outside CI; in CI (`CI=true`) the opt-out is refused with an error, so a
 * missing CLI fails the run instead of hiding in the skipped count.
 */
export function openstackCliSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['NOVUM_SKIP_OPENSTACK_CLI'] !== '1') return undefined
  if (env['CI'] === 'true') {
    throw new Error('NOVUM_SKIP_OPENSTACK_CLI=1 is refused in CI (CI=true): install python3-openstackclient instead')
  }
  return 'NOVUM_SKIP_OPENSTACK_CLI=1'
}
