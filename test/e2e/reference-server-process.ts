/**
 * Starts the reference server (examples/reference-server) as a child process on free loopback ports, for
 * end-to-end tests that drive it with real clients. Each call gets its own data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openrcEnv, type OpenstackEnv } from './openstack-cli.js'
import { freePort } from '../../scripts/bench-api.js'

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** A reference server running in a child process. */
export interface ServerProcess {
  readonly dataDir: string
  readonly ports: { readonly compute: number; readonly identity: number; readonly image: number; readonly placement: number }
  readonly password: string
  /** The `OS_*` environment for the openstack CLI. */
  readonly env: OpenstackEnv
  readonly child: ChildProcess
  /** What the server printed so far (stdout and stderr). */
  output(): string
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); keeps the data directory. */
  stop(): Promise<void>
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>
}

/** Options of {@link startServerProcess}. */
export interface StartServerOptions {
  /** Reuse a data directory (to test restarts); a new temporary one by default. */
  readonly dataDir?: string
  /** Reuse ports (to test restarts). */
  readonly ports?: ServerProcess['ports']
  /** Extra environment (NOVUM_* settings). */
  readonly env?: Readonly<Record<string, string>>
  /** Extra command-line flags. */
  readonly args?: readonly string[]
  /** How long to wait for the "ready" line. @default 60000 */
  readonly readyTimeoutMs?: number
}

/** Starts the reference server and resolves once it has printed that it is ready. */
export async function startServerProcess(options: StartServerOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'novum-e2e-'))
  const ports = options.ports ?? { compute: await freePort(), identity: await freePort(), image: await freePort(), placement: await freePort() }
  const password = 'e2e-admin-password'
  const child = spawn(process.execPath, ['--conditions=@novum/source', '--import', 'tsx', 'src/main.ts', ...(options.args ?? [])], {
    cwd: join(rootDir, 'examples/reference-server'),
    env: {
      ...process.env,
      NOVUM_DATA_DIR: dataDir,
      NOVUM_COMPUTE_PORT: String(ports.compute),
      NOVUM_IDENTITY_PORT: String(ports.identity),
      NOVUM_IMAGE_PORT: String(ports.image),
      NOVUM_PLACEMENT_PORT: String(ports.placement),
      NOVUM_ADMIN_PASSWORD: password,
      NOVUM_LOG_LEVEL: process.env['NOVUM_LOG_LEVEL'] ?? 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()))
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`reference server not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${out}`)), options.readyTimeoutMs ?? 60_000)
    const onData = () => {
      if (/Novum reference server ready/.test(out)) {
        clearTimeout(timer)
        res()
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      rej(new Error(`reference server exited with ${code} before it was ready:\n${out}`))
    })
  })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(killer)
  }
  return {
    dataDir,
    ports,
    password,
    env: openrcEnv({ authUrl: `http://127.0.0.1:${ports.identity}/v3`, username: 'admin', password, projectName: 'admin' }),
    child,
    output: () => out,
    stop,
    async destroy() {
      await stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
