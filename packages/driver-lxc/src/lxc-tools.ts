import { ComputeError, silentLogger, type Logger } from '@novum/core'
import { x } from 'tinyexec'
import { LxcCommandError } from './lxc-command-error.js'

/** A container state as the LXC tools print it (`lxc-info -s`, `lxc-monitor`). */
export type LxcState = 'STOPPED' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'ABORTING' | 'FREEZING' | 'FROZEN' | 'THAWED'

const LXC_STATES: ReadonlySet<string> = new Set<LxcState>(['STOPPED', 'STARTING', 'RUNNING', 'STOPPING', 'ABORTING', 'FREEZING', 'FROZEN', 'THAWED'])

/** True when `value` is one of the states the LXC tools print. */
export function isLxcState(value: string): value is LxcState {
  return LXC_STATES.has(value)
}

/** Configuration of {@link LxcTools}. */
export interface LxcToolsConfig {
  /** The lxcpath every command gets as `-P` (one per compute host). */
  readonly lxcPath: string
  /** The timeout of a command that is given none, in ms. @default 30000 */
  readonly timeoutMs?: number
  /** Debug lines for every command (program, arguments, duration). @default silentLogger */
  readonly logger?: Logger
}

/** Per-call options of {@link LxcTools.run}. */
export interface LxcRunOptions {
  /** Kill the command after this long (SIGTERM) and throw an {@link LxcCommandError} with `timedOut`. */
  readonly timeoutMs?: number
  /** Abort the command (SIGTERM) and throw. */
  readonly signal?: AbortSignal
  /** Resolve with the result when the command exits non-zero instead of throwing. @default false */
  readonly allowFailure?: boolean
  /** Prefix of the error message, e.g. `cannot start instance <uuid>`. */
  readonly context?: string
  /** Do not add `-P <lxcpath>` (for programs that are not lxc tools, e.g. `tar`). @default false */
  readonly noLxcPath?: boolean
}

/** What a command printed and how it ended. */
export interface LxcRunResult {
  readonly stdout: string
  readonly stderr: string
  readonly exitCode: number
  readonly durationMs: number
}

/** Options of {@link LxcTools.create}. */
export interface LxcCreateOptions {
  /** The template (`busybox`, `download`, …), or `none` for a container whose rootfs the caller fills. */
  readonly template: string
  /** A config file whose lines go into the new container's config instead of `/etc/lxc/default.conf`. */
  readonly configFile: string
  /** Arguments for the template (after `--`). */
  readonly templateArgs?: readonly string[]
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  readonly context?: string
}

/** Options of {@link LxcTools.stop}. */
export interface LxcStopOptions {
  /** `-k`: kill at once, no shutdown signal. */
  readonly kill?: boolean
  /** `-r`: send the reboot signal and wait for the container to come back. */
  readonly reboot?: boolean
  /** `-t`: seconds to wait for the shutdown (or reboot) before `lxc-stop` gives up (a stop then kills). */
  readonly timeoutSec?: number
  readonly context?: string
}

const isTimeout = (err: unknown): boolean =>
  err instanceof Error && err.name === 'AbortError' && err.cause instanceof Error && err.cause.name === 'TimeoutError'

/**
 * Runs LXC's command-line tools (`lxc-create`, `lxc-start`, `lxc-stop`, `lxc-attach`, `lxc-freeze`, `lxc-unfreeze`,
 * `lxc-info`, `lxc-destroy`, `lxc-wait`, `lxc-ls`) against one lxcpath, each with a timeout, in the C locale. A
 * failure throws an {@link LxcCommandError} (`ComputeError('VIRT')`) that carries the tool's stderr and exit code.
 *
 * It holds no state besides its configuration, so several instances (or processes) may share an lxcpath.
 *
 * @example
 * ```ts
 * const tools = new LxcTools({ lxcPath: '/var/lib/novum/lxc' })
 * await tools.start('novum-0b6f…')
 * await tools.state('novum-0b6f…') // 'RUNNING'
 * ```
 */
export class LxcTools {
  /** The lxcpath every command runs against. */
  readonly lxcPath: string
  private readonly timeoutMs: number
  private readonly logger: Logger

  constructor(config: LxcToolsConfig) {
    this.lxcPath = config.lxcPath
    this.timeoutMs = config.timeoutMs ?? 30_000
    this.logger = config.logger ?? silentLogger
  }

  /**
   * Runs `tool -P <lxcpath> ...args` and resolves with its output; throws an {@link LxcCommandError} when it exits
   * non-zero (unless `allowFailure`), times out, is aborted or cannot be started.
   */
  async run(tool: string, args: readonly string[], options: LxcRunOptions = {}): Promise<LxcRunResult> {
    const fullArgs = options.noLxcPath ? [...args] : ['-P', this.lxcPath, ...args]
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const started = performance.now()
    const fail = (exitCode: number | null, stderr: string, timedOut: boolean, cause?: unknown): LxcCommandError =>
      new LxcCommandError(
        { command: tool, args: fullArgs, exitCode, stderr: stderr.trim(), timedOut, durationMs: performance.now() - started },
        { ...(options.context ? { context: options.context } : {}), ...(cause !== undefined ? { cause } : {}) },
      )
    let output: { stdout: string; stderr: string; exitCode: number | undefined }
    try {
      output = await x(tool, fullArgs, {
        timeout: timeoutMs,
        nodePath: false,
        throwOnError: false,
        ...(options.signal ? { signal: options.signal } : {}),
        nodeOptions: { env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] },
      })
    } catch (err) {
      if (isTimeout(err)) throw fail(null, '', true, err)
      const code = (err as NodeJS.ErrnoException).code
      const hint = code === 'ENOENT' ? `${tool} is not installed (run scripts/setup-lxc.sh, or apt-get install lxc)` : (err as Error).message
      throw fail(null, hint, false, err)
    }
    const durationMs = performance.now() - started
    this.logger.debug({ command: tool, args: fullArgs, exitCode: output.exitCode, durationMs: Math.round(durationMs) }, `${tool} ${fullArgs.join(' ')}`)
    if (options.signal?.aborted) throw fail(null, 'aborted', false, options.signal.reason)
    const exitCode = output.exitCode ?? -1
    if (exitCode !== 0 && !options.allowFailure) throw fail(output.exitCode ?? null, output.stderr, false)
    return { stdout: output.stdout, stderr: output.stderr, exitCode, durationMs }
  }

  /** The version of the tools, e.g. `5.0.2` (`lxc-start --version`). */
  async version(): Promise<string> {
    return (await this.run('lxc-start', ['--version'], { noLxcPath: true, timeoutMs: 10_000 })).stdout.trim()
  }

  /** The state of a container, or null when no container of that name is defined in the lxcpath. */
  async state(name: string, options: { readonly signal?: AbortSignal } = {}): Promise<LxcState | null> {
    const r = await this.run('lxc-info', ['-n', name, '-s', '-H'], { allowFailure: true, ...options })
    if (r.exitCode !== 0) {
      if (/doesn't exist|does not exist/.test(r.stderr)) return null
      throw new LxcCommandError({ command: 'lxc-info', args: ['-P', this.lxcPath, '-n', name, '-s', '-H'], exitCode: r.exitCode, stderr: r.stderr.trim(), timedOut: false, durationMs: r.durationMs })
    }
    const state = r.stdout.trim()
    if (!isLxcState(state)) {
      throw new ComputeError('VIRT', `lxc-info printed an unknown state "${state}" for container ${name}`, { details: { command: 'lxc-info', stdout: r.stdout } })
    }
    return state
  }

  /** Names of the containers defined in the lxcpath whose name matches `filter` (a regular expression). */
  async list(filter?: string): Promise<string[]> {
    const r = await this.run('lxc-ls', ['-1', ...(filter ? ['--filter', filter] : [])])
    return r.stdout.split(/\s+/).filter((n) => n.length > 0)
  }

  /** Name → state of the containers matching `filter`, from one `lxc-ls --fancy` call. */
  async listStates(filter?: string): Promise<Map<string, LxcState>> {
    const r = await this.run('lxc-ls', ['-f', '-F', 'NAME,STATE', ...(filter ? ['--filter', filter] : [])])
    const states = new Map<string, LxcState>()
    for (const line of r.stdout.split('\n').slice(1)) {
      const [name, state] = line.trim().split(/\s+/)
      if (name && state && isLxcState(state)) states.set(name, state)
    }
    return states
  }

  /** `lxc-create -n <name> -t <template> -f <configFile> [-- templateArgs]`. */
  async create(name: string, options: LxcCreateOptions): Promise<void> {
    const args = ['-n', name, '-t', options.template, '-f', options.configFile]
    if (options.templateArgs?.length) args.push('--', ...options.templateArgs)
    await this.run('lxc-create', args, {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.context ? { context: options.context } : {}),
    })
  }

  /** `lxc-start -n <name>` (daemonised: it returns once the container runs), logging warnings to `logFile`. */
  async start(name: string, options: { readonly logFile?: string; readonly timeoutMs?: number; readonly signal?: AbortSignal; readonly context?: string } = {}): Promise<void> {
    const args = ['-n', name, ...(options.logFile ? ['-l', 'WARN', '-o', options.logFile] : [])]
    await this.run('lxc-start', args, {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.context ? { context: options.context } : {}),
    })
  }

  /** `lxc-wait -n <name> -s <state> -t <timeoutSec>`: resolves when the container is in `state`. */
  async wait(name: string, state: LxcState, timeoutSec: number, context?: string): Promise<void> {
    await this.run('lxc-wait', ['-n', name, '-s', state, '-t', String(timeoutSec)], { timeoutMs: timeoutSec * 1000 + 5_000, ...(context ? { context } : {}) })
  }

  /** `lxc-stop -n <name>` with `-k`, `-r` or `-t` as asked. */
  async stop(name: string, options: LxcStopOptions = {}): Promise<LxcRunResult> {
    const args = ['-n', name]
    if (options.kill) args.push('-k')
    if (options.reboot) args.push('-r')
    if (options.timeoutSec !== undefined && !options.kill) args.push('-t', String(options.timeoutSec))
    const timeoutMs = (options.timeoutSec ?? 60) * 1000 + 10_000
    return this.run('lxc-stop', args, { timeoutMs, ...(options.context ? { context: options.context } : {}) })
  }

  /** `lxc-freeze -n <name>`. */
  async freeze(name: string, context?: string): Promise<void> {
    await this.run('lxc-freeze', ['-n', name], context ? { context } : {})
  }

  /** `lxc-unfreeze -n <name>`. */
  async unfreeze(name: string, context?: string): Promise<void> {
    await this.run('lxc-unfreeze', ['-n', name], context ? { context } : {})
  }

  /** `lxc-destroy -n <name> [-f]`: `force` stops a running container first. */
  async destroy(name: string, options: { readonly force?: boolean; readonly context?: string; readonly allowFailure?: boolean } = {}): Promise<LxcRunResult> {
    return this.run('lxc-destroy', ['-n', name, ...(options.force ? ['-f'] : [])], {
      ...(options.context ? { context: options.context } : {}),
      ...(options.allowFailure ? { allowFailure: true } : {}),
    })
  }

  /** `lxc-attach -n <name> -- command...`: runs a command inside a running container. */
  async attach(name: string, command: readonly string[], options: { readonly timeoutMs?: number; readonly allowFailure?: boolean } = {}): Promise<LxcRunResult> {
    return this.run('lxc-attach', ['-n', name, '--', ...command], options)
  }
}
