/**
 * `pnpm bench [name…] [--list] [--markdown] [--json <file>]`: runs the benchmark modules found in `bench/` folders
 * of the packages and examples (see scripts/bench-api.ts for the contract) one after another, and prints one table
 * of their figures plus the machine they ran on, ready for docs/benchmarks.md.
 *
 * - `name…`: run only benchmarks whose name (`<folder>/<file>`, e.g. `reference-server/boot`) or file name
 *   matches one of these;
 * - `--list`: list the benchmarks found and exit;
 * - `--markdown`: print the table as Markdown;
 * - `--json <file>`: also write machine, figures and failures as JSON.
 *
 * Exits non-zero if a benchmark threw or returned something that is not a list of figures.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BenchFigure, Benchmark } from './bench-api.js'

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SEARCHED = ['packages', 'examples']

/** A benchmark module found on disk. */
interface Found {
  /** `<package or example folder>/<file without .ts>`. */
  readonly name: string
  readonly file: string
}

interface Outcome {
  readonly name: string
  readonly description: string
  readonly figures: readonly BenchFigure[]
  readonly seconds: number
  readonly error?: string
}

function findBenchmarks(): Found[] {
  const found: Found[] = []
  for (const top of SEARCHED) {
    const topDir = join(rootDir, top)
    if (!existsSync(topDir)) continue
    for (const entry of readdirSync(topDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue
      const benchDir = join(topDir, entry.name, 'bench')
      if (!existsSync(benchDir)) continue
      for (const file of readdirSync(benchDir).sort()) {
        if (!file.endsWith('.ts') || file.endsWith('.d.ts') || file.includes('.test.')) continue
        found.push({ name: `${entry.name}/${basename(file, '.ts')}`, file: join(benchDir, file) })
      }
    }
  }
  return found
}

/** The machine, for the "Machine" section of docs/benchmarks.md. */
function machine(): Record<string, string> {
  const cpus = os.cpus()
  const debian = existsSync('/etc/debian_version') ? ` (Debian ${readFileSync('/etc/debian_version', 'utf8').trim()})` : ''
  return {
    date: new Date().toISOString(),
    os: `${os.type()} ${os.release()}${debian}`,
    cpu: `${os.availableParallelism()} × ${cpus[0]?.model.trim() ?? 'unknown'}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
  }
}

function isFigure(value: unknown): value is BenchFigure {
  if (typeof value !== 'object' || value === null) return false
  const f = value as Record<string, unknown>
  return typeof f['figure'] === 'string' && typeof f['value'] === 'number' && typeof f['unit'] === 'string'
}

function isBenchmark(value: unknown): value is Benchmark {
  if (typeof value !== 'object' || value === null) return false
  const b = value as Record<string, unknown>
  return typeof b['run'] === 'function' && typeof b['description'] === 'string'
}

async function runOne(found: Found): Promise<Outcome> {
  const started = performance.now()
  const seconds = () => (performance.now() - started) / 1000
  const log = (message: string) => process.stderr.write(`[${found.name}] ${message}\n`)
  try {
    const module = (await import(pathToFileURL(found.file).href)) as { default?: unknown }
    if (!isBenchmark(module.default)) {
      throw new Error(`${relative(rootDir, found.file)} has no default export made with defineBenchmark({ description, run })`)
    }
    const benchmark = module.default
    log(benchmark.description)
    const figures: unknown = await benchmark.run({ rootDir, log })
    if (!Array.isArray(figures) || !figures.every(isFigure)) {
      throw new Error('run() must resolve with a list of { figure, value, unit } objects')
    }
    return { name: found.name, description: benchmark.description, figures, seconds: seconds() }
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
    log(`FAILED: ${message}`)
    return { name: found.name, description: '', figures: [], seconds: seconds(), error: message.split('\n')[0] ?? message }
  }
}

const formatValue = (value: number): string =>
  Number.isInteger(value) ? String(value) : Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3)

function rows(outcomes: readonly Outcome[]): string[][] {
  const table: string[][] = []
  for (const o of outcomes) {
    if (o.error !== undefined) table.push([o.name, '(failed)', '', '', o.error])
    for (const f of o.figures) {
      const met = f.met === undefined ? '' : f.met ? ' ✓' : ' ✗'
      table.push([o.name, f.figure, `${formatValue(f.value)} ${f.unit}`, `${f.target ?? ''}${met}`, f.note ?? ''])
    }
  }
  return table
}

const HEADER = ['benchmark', 'figure', 'value', 'target', 'note']

function printText(table: readonly string[][]): void {
  const all = [HEADER, ...table]
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  const line = (r: readonly string[]) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  console.log(line(HEADER))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of table) console.log(line(r))
}

function printMarkdown(table: readonly string[][]): void {
  const escape = (cell: string) => cell.replaceAll('|', '\\|')
  console.log(`| ${HEADER.join(' | ')} |`)
  console.log(`|${HEADER.map(() => '---').join('|')}|`)
  for (const r of table) console.log(`| ${HEADER.map((_, i) => escape(r[i] ?? '')).join(' | ')} |`)
}

function parseArgs(argv: readonly string[]) {
  const names: string[] = []
  let list = false
  let markdown = false
  let json: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') continue
    else if (arg === '--list') list = true
    else if (arg === '--markdown') markdown = true
    else if (arg === '--json') json = argv[++i]
    else if (arg.startsWith('--json=')) json = arg.slice('--json='.length)
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}; see the header of scripts/bench.ts`)
    else names.push(arg)
  }
  if (json === '') throw new Error('--json needs a file name')
  return { names, list, markdown, json }
}

async function main(): Promise<void> {
  const { names, list, markdown, json } = parseArgs(process.argv.slice(2))
  const all = findBenchmarks()
  const selected = names.length
    ? all.filter((b) => names.some((n) => b.name === n || b.name.endsWith(`/${n}`)))
    : all
  if (names.length && selected.length === 0) throw new Error(`no benchmark matches ${names.join(', ')}`)

  if (list || selected.length === 0) {
    if (selected.length === 0) console.log(`no benchmarks found in ${SEARCHED.map((d) => `${d}/*/bench/`).join(' or ')}`)
    for (const b of selected) console.log(`${b.name}  ${relative(rootDir, b.file)}`)
    return
  }

  const host = machine()
  const outcomes: Outcome[] = []
  for (const b of selected) outcomes.push(await runOne(b))

  console.log(Object.entries(host).map(([k, v]) => `${k}: ${v}`).join('\n'))
  console.log()
  const table = rows(outcomes)
  if (markdown) printMarkdown(table)
  else printText(table)
  if (json !== undefined) writeFileSync(json, `${JSON.stringify({ machine: host, outcomes }, null, 2)}\n`)
  if (outcomes.some((o) => o.error !== undefined)) process.exitCode = 1
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
