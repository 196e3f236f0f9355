import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** One child the supervisor runs. */
export interface ChildDefinition {
  /** Unique name: `api`, `conductor`, `scheduler`, `compute-1`, … (also the log file's name). */
  readonly name: string
  /** Arguments after the node executable and its flags (the script and its arguments). */
  readonly args: readonly string[]
}

/** A child as the supervisor's state file shows it. */
export interface ChildState {
  readonly name: string
  /** The running process, or the last one. */
  readonly pid: number | null
  readonly state: 'starting' | 'running' | 'stopping' | 'exited'
  readonly exitCode: number | null
  readonly signal: string | null
  /** How many times it was started again after the first start. */
  readonly restarts: number
  readonly startedAt: string | null
}

/** The supervisor's state file (`<dataDir>/supervisor.json`), rewritten on every change. */
export interface SupervisorState {
  readonly pid: number
  readonly state: 'starting' | 'running' | 'stopping' | 'stopped'
  readonly children: readonly ChildState[]
}

/** How the supervisor starts and watches its children. */
export interface SupervisorConfig {
  /** The executable of every child. @default process.execPath */
  readonly command?: string
  /** Arguments before each child's own (`--conditions=…`, `--import tsx`). @default process.execArgv */
  readonly commandArgs?: readonly string[]
  /** The environment of every child (on top of this process's). */
  readonly env: Readonly<Record<string, string>>
  /** The state file is `<stateDir>/supervisor.json`; logs go to `<stateDir>/logs/<name>.log`. */
  readonly stateDir: string
  /** `never`: a child that dies stays dead until {@link Supervisor.startStopped}; `on-failure`: it is started again, with backoff. */
  readonly restart: 'never' | 'on-failure'
  /** How long a child may take to say it is ready. @default 120000 */
  readonly readyTimeoutMs?: number
  /** Where child output goes, one prefixed line at a time. @default process.stdout */
  readonly write?: (text: string) => void
}

interface Child {
  readonly def: ChildDefinition
  process: ChildProcess | null
  state: ChildState['state']
  exitCode: number | null
  signal: string | null
  restarts: number
  startedAt: string | null
  /** True while the supervisor itself is stopping this child (its exit is expected). */
  expectedExit: boolean
  restartTimer: ReturnType<typeof setTimeout> | null
  backoffMs: number
  exited: Promise<void>
}

/** The message a child sends on its IPC channel once it serves. */
export interface ReadyMessage {
  readonly type: 'ready'
  readonly detail?: Readonly<Record<string, unknown>>
}

const INITIAL_BACKOFF_MS = 1000
const MAX_BACKOFF_MS = 30_000

/**
 * A small process supervisor (foreman with a restart policy): starts children in groups (one group after the
 * other, the children of a group together), waits for each to report ready over its IPC channel, prefixes and
 * forwards their output, keeps a state file, and stops them in phases.
 *
 * Children run in their own process group, so a Ctrl-C in the terminal reaches only the supervisor, which then
 * stops them in order; each child also stops on its own when its IPC channel closes (the supervisor died), so
 * none is left behind.
 */
export class Supervisor {
  private readonly children = new Map<string, Child>()
  private readonly write: (text: string) => void
  private readonly logDir: string
  private readonly width: number
  private state: SupervisorState['state'] = 'starting'

  constructor(
    private readonly config: SupervisorConfig,
    definitions: readonly ChildDefinition[],
  ) {
    this.write = config.write ?? ((text) => void process.stdout.write(text))
    this.logDir = join(config.stateDir, 'logs')
    mkdirSync(this.logDir, { recursive: true })
    this.width = Math.max(10, ...definitions.map((d) => d.name.length))
    for (const def of definitions) {
      if (this.children.has(def.name)) throw new Error(`duplicate child name "${def.name}"`)
      this.children.set(def.name, {
        def, process: null, state: 'exited', exitCode: null, signal: null, restarts: -1, startedAt: null, expectedExit: false,
        restartTimer: null, backoffMs: INITIAL_BACKOFF_MS, exited: Promise.resolve(),
      })
    }
    this.saveState()
  }

  /** The path of the state file. */
  get statePath(): string {
    return join(this.config.stateDir, 'supervisor.json')
  }

  /** A snapshot of every child. */
  snapshot(): SupervisorState {
    return {
      pid: process.pid,
      state: this.state,
      children: [...this.children.values()].map((c) => ({
        name: c.def.name, pid: c.process?.pid ?? null, state: c.state, exitCode: c.exitCode, signal: c.signal, restarts: Math.max(0, c.restarts), startedAt: c.startedAt,
      })),
    }
  }

  /** Prints one supervisor line. */
  say(text: string): void {
    this.emit('supervisor', text)
  }

  /**
   * Runs a one-shot child (no IPC readiness: it must exit 0) and resolves when it has; rejects with its output's
   * tail when it fails.
   */
  async runToCompletion(def: ChildDefinition): Promise<void> {
    const child = spawn(this.config.command ?? process.execPath, [...(this.config.commandArgs ?? process.execArgv), ...def.args], {
      env: { ...process.env, ...this.config.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const tail: string[] = []
    this.pipe(def.name, child, tail)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.once('exit', (c, s) => res([c, s])))
    if (code !== 0) throw new Error(`${def.name} failed (${signal ? `signal ${signal}` : `exit code ${code}`}):\n${tail.join('\n')}`)
  }

  /**
   * Starts the groups one after another; within a group, every child at once. Resolves once every child said it
   * is ready; rejects (after stopping what started) when one exits first or takes longer than `readyTimeoutMs`.
   */
  async startGroups(groups: readonly (readonly string[])[]): Promise<void> {
    for (const group of groups) await Promise.all(group.map((name) => this.startChild(this.child(name))))
    this.state = 'running'
    this.saveState()
  }

  /** Starts every child that is not running (a manual restart: `kill -USR2 <supervisor pid>`); returns their names. */
  startStopped(): string[] {
    const names: string[] = []
    for (const c of this.children.values()) {
      if (c.state !== 'exited' || this.state !== 'running') continue
      if (c.restartTimer) clearTimeout(c.restartTimer)
      c.restartTimer = null
      names.push(c.def.name)
      this.startChild(c).catch((err: unknown) => this.say(`${c.def.name} did not start again: ${(err as Error).message}`))
    }
    return names
  }

  /**
   * Stops the children in phases (each a list of names, e.g. api, then the compute agents, then the scheduler, then
   * the conductor): SIGTERM, then SIGKILL for those still alive after `timeoutMs`. Children not named in any phase
   * are stopped last.
   */
  async stop(phases: readonly (readonly string[])[], timeoutMs: number): Promise<void> {
    this.state = 'stopping'
    for (const c of this.children.values()) {
      if (c.restartTimer) clearTimeout(c.restartTimer)
      c.restartTimer = null
    }
    const named = new Set(phases.flat())
    const rest = [...this.children.keys()].filter((n) => !named.has(n))
    for (const phase of [...phases, rest]) {
      const running = phase.map((n) => this.child(n)).filter((c) => c.process && c.state !== 'exited')
      if (running.length === 0) continue
      for (const c of running) {
        c.expectedExit = true
        c.state = 'stopping'
        c.process!.kill('SIGTERM')
      }
      this.saveState()
      const timer = setTimeout(() => {
        for (const c of running) {
          if (c.state !== 'exited') {
            this.say(`${c.def.name} did not stop within ${timeoutMs} ms; killing it`)
            c.process?.kill('SIGKILL')
          }
        }
      }, timeoutMs)
      await Promise.all(running.map((c) => c.exited))
      clearTimeout(timer)
    }
    this.state = 'stopped'
    this.saveState()
  }

  private child(name: string): Child {
    const c = this.children.get(name)
    if (!c) throw new Error(`unknown child "${name}"`)
    return c
  }

  private startChild(c: Child): Promise<void> {
    const proc = spawn(this.config.command ?? process.execPath, [...(this.config.commandArgs ?? process.execArgv), ...c.def.args], {
      env: { ...process.env, ...this.config.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // NOTE: its own process group, so a terminal's Ctrl-C reaches the supervisor only and the stop order holds.
      detached: true,
    })
    c.process = proc
    c.state = 'starting'
    c.exitCode = null
    c.signal = null
    c.expectedExit = false
    c.restarts++
    c.startedAt = new Date().toISOString()
    const started = Date.now()
    const tail: string[] = []
    this.pipe(c.def.name, proc, tail)
    this.say(`${c.def.name} starting (pid ${proc.pid ?? '?'})`)
    this.saveState()
    c.exited = new Promise<void>((res) => proc.once('exit', () => res()))
    return new Promise<void>((resolve, reject) => {
      const readyTimeoutMs = this.config.readyTimeoutMs ?? 120_000
      const timer = setTimeout(() => {
        reject(new Error(`${c.def.name} did not report ready within ${readyTimeoutMs} ms:\n${tail.join('\n')}`))
      }, readyTimeoutMs)
      proc.on('message', (m: unknown) => {
        if ((m as ReadyMessage | null)?.type !== 'ready' || c.process !== proc) return
        clearTimeout(timer)
        c.state = 'running'
        this.say(`${c.def.name} ready (pid ${proc.pid ?? '?'}, ${Date.now() - started} ms)`)
        this.saveState()
        resolve()
      })
      proc.once('error', (err) => this.say(`${c.def.name}: ${err.message}`))
      proc.once('exit', (code, signal) => {
        clearTimeout(timer)
        if (c.process !== proc) return
        const wasReady = c.state === 'running'
        c.state = 'exited'
        c.exitCode = code
        c.signal = signal
        this.say(`${c.def.name} exited (${signal ? `signal ${signal}` : `exit code ${code}`})${c.expectedExit ? '' : ' unexpectedly'}`)
        this.saveState()
        if (!wasReady) reject(new Error(`${c.def.name} exited before it was ready (${signal ? `signal ${signal}` : `exit code ${code}`}):\n${tail.join('\n')}`))
        if (!c.expectedExit && this.state === 'running' && this.config.restart === 'on-failure') this.scheduleRestart(c, Date.now() - started)
      })
    })
  }

  private scheduleRestart(c: Child, upMs: number): void {
    // A child that ran for a minute starts again at once; one that keeps dying waits longer each time.
    if (upMs > 60_000) c.backoffMs = INITIAL_BACKOFF_MS
    const delay = c.backoffMs
    c.backoffMs = Math.min(MAX_BACKOFF_MS, c.backoffMs * 2)
    this.say(`${c.def.name} will be started again in ${delay} ms (--restart on-failure)`)
    c.restartTimer = setTimeout(() => {
      c.restartTimer = null
      if (this.state !== 'running' || c.state !== 'exited') return
      this.startChild(c).catch((err: unknown) => this.say(`${c.def.name} did not start again: ${(err as Error).message}`))
    }, delay)
  }

  private pipe(name: string, proc: ChildProcess, tail: string[]): void {
    const logFile = join(this.logDir, `${name}.log`)
    for (const stream of [proc.stdout, proc.stderr]) {
      let partial = ''
      stream?.setEncoding('utf8')
      stream?.on('data', (chunk: string) => {
        appendFileSync(logFile, chunk)
        const lines = (partial + chunk).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) {
          tail.push(line)
          if (tail.length > 40) tail.shift()
          this.emit(name, line)
        }
      })
      stream?.on('end', () => {
        if (partial) this.emit(name, partial)
        partial = ''
      })
    }
  }

  private emit(name: string, line: string): void {
    this.write(`${name.padEnd(this.width)} | ${line}\n`)
  }

  private saveState(): void {
    const tmp = `${this.statePath}.${process.pid}.tmp`
    writeFileSync(tmp, `${JSON.stringify(this.snapshot(), null, 2)}\n`)
    renameSync(tmp, this.statePath)
  }
}
