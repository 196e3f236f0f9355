/**
 * The contract between `pnpm bench` (scripts/bench.ts) and a benchmark module.
 *
 * A benchmark module is a file `bench/<name>.ts` in a package or an example (`packages/<pkg>/bench/`,
 * `examples/<example>/bench/`). Its default export is a {@link Benchmark}; the runner finds it, runs it on its own,
 * and prints what it returns as rows of one table. The module measures with its own clock
 * (`performance.now()`); the runner only collects the figures.
 *
 * @example
 * ```ts
 * // examples/reference-server/bench/boot.ts
 * import { defineBenchmark } from '../../../scripts/bench-api.js'
 *
 * export default defineBenchmark({
 *   description: 'boots against the reference server',
 *   async run({ log }) {
 *     log('10 single boots')
 *     return [{ figure: 'single create→ACTIVE, median', value: 12.5, unit: 'ms', target: '≤ 20 ms', met: true }]
 *   },
 * })
 * ```
 */

import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** One measured figure: one row of the results table. */
export interface BenchFigure {
  /** What was measured, worded as in docs/benchmarks.md, e.g. `single create→ACTIVE, median`. */
  readonly figure: string
  readonly value: number
  /** e.g. `ms`, `s`, `boots/s`, `MB`. */
  readonly unit: string
  /** The target as text, e.g. `≤ 20 ms`. */
  readonly target?: string
  /** Whether `value` meets `target`; leave it out when there is no target. Benchmarks report, they never fail on it. */
  readonly met?: boolean
  /** Anything a reader needs to interpret the value (sample size, spread). */
  readonly note?: string
}

/** What the runner gives a benchmark. */
export interface BenchContext {
  /** The workspace root (absolute). */
  readonly rootDir: string
  /** Prints a progress line to stderr, prefixed with the benchmark's name; the table goes to stdout. */
  readonly log: (message: string) => void
}

/** A benchmark module's default export. */
export interface Benchmark {
  /** One line: what it measures. */
  readonly description: string
  /**
   * Runs the measurements and returns the figures. It owns everything it starts (servers, data directories) and
   * must stop and remove it before it resolves, also when it throws. A throw marks the benchmark failed; the
   * runner goes on with the next one and exits non-zero at the end.
   */
  run(context: BenchContext): Promise<readonly BenchFigure[]>
}

/** Declares a benchmark with its type checked; returns it unchanged. */
export function defineBenchmark(benchmark: Benchmark): Benchmark {
  return benchmark
}

// --- helpers every benchmark module needs -------------------------------------------------------------------

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.once('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address()
      srv.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))))
    })
  })
}

/** The resident set size of process `pid` in MB (`VmRSS` of `/proc/<pid>/status`). */
export function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN)
  return kb / 1024
}

/** CPU time (user + system) a process has used so far, in milliseconds (`/proc/<pid>/stat`); NaN once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The fields after the command (which may hold spaces) start after the last ')'; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}

// NOTE: USER_HZ is 100 on every Linux the project runs on (`getconf CLK_TCK`).
const CLOCK_TICKS_PER_SECOND = 100

/** The pids of processes whose command name (`/proc/<pid>/comm`) is one of `names`, e.g. `postgres`, `beam.smp`. */
export function pidsNamed(...names: string[]): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) out.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return out
}
