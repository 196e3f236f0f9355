import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { LxcTools } from './lxc-tools.js'

/** Options of {@link destroyContainers}. */
export interface DestroyContainersOptions {
  /** The lxcpath to clean. */
  readonly lxcPath: string
  /** Only containers (and leftover directories) whose name starts with this are touched; never empty. */
  readonly prefix: string
  /** Timeout of each lxc command, in ms. @default 30000 */
  readonly timeoutMs?: number
}

/** What {@link destroyContainers} removed, and what it could not. */
export interface DestroyContainersResult {
  readonly destroyed: readonly string[]
  readonly failed: readonly { readonly name: string; readonly error: string }[]
}

/**
 * Kills and destroys every container in `lxcPath` whose name starts with `prefix`, then removes leftover
 * directories with that prefix (a crash between mkdir and lxc-create). For test suites (run it before and after)
 * and operators; a missing lxcpath is not an error. Returns per-container results rather than throwing halfway.
 *
 * @example
 * ```ts
 * await destroyContainers({ lxcPath: '/tmp/novum-lxc-tests/conformance', prefix: 'novum-test-' })
 * ```
 */
export async function destroyContainers(options: DestroyContainersOptions): Promise<DestroyContainersResult> {
  if (options.prefix.length === 0) throw new Error('destroyContainers needs a non-empty name prefix')
  let entries: string[]
  try {
    entries = await readdir(options.lxcPath)
  } catch {
    return { destroyed: [], failed: [] }
  }
  const tools = new LxcTools({ lxcPath: options.lxcPath, timeoutMs: options.timeoutMs ?? 30_000 })
  const escaped = options.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const names = new Set(await tools.list(`^${escaped}`).catch(() => [] as string[]))
  const destroyed: string[] = []
  const failed: { name: string; error: string }[] = []
  await Promise.all(
    [...names].map(async (name) => {
      const r = await tools.destroy(name, { force: true, allowFailure: true }).catch((err: unknown) => ({ exitCode: -1, stderr: (err as Error).message }))
      if (r.exitCode === 0 || /doesn't exist/.test(r.stderr)) destroyed.push(name)
      else failed.push({ name, error: r.stderr.trim() })
    }),
  )
  for (const entry of entries) {
    if (entry.startsWith(options.prefix) || entry.startsWith(`.${options.prefix}`)) {
      if (!failed.some((f) => f.name === entry)) await rm(join(options.lxcPath, entry), { recursive: true, force: true })
    }
  }
  return { destroyed: destroyed.sort(), failed }
}
