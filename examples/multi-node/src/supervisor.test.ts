import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Supervisor, type SupervisorState } from './supervisor.js'

// A child that behaves as its arguments say: `ready` (report ready over IPC and wait), `fail` (exit 3 at once),
// `stubborn` (ready, and ignore SIGTERM). It appends its name to events.log when it starts and when it stops.
const CHILD = `
const [, , name, mode, log] = process.argv
const fs = require('node:fs')
fs.appendFileSync(log, 'start ' + name + '\\n')
if (mode === 'fail') { console.error(name + ' cannot start'); process.exit(3) }
process.on('SIGTERM', () => {
  if (mode === 'stubborn') return
  fs.appendFileSync(log, 'stop ' + name + '\\n')
  process.exit(0)
})
process.on('disconnect', () => {})
console.log(name + ' says hello')
process.send({ type: 'ready' })
setInterval(() => {}, 1000)
`

let dir: string
let script: string
let log: string
let lines: string[]
let supervisor: Supervisor | undefined

function make(names: Record<string, 'ready' | 'fail' | 'stubborn'>, restart: 'never' | 'on-failure' = 'never'): Supervisor {
  supervisor = new Supervisor(
    { command: process.execPath, commandArgs: [], env: {}, stateDir: dir, restart, readyTimeoutMs: 20_000, write: (t) => void lines.push(t) },
    Object.entries(names).map(([name, mode]) => ({ name, args: [script, name, mode, log] })),
  )
  return supervisor
}

const events = (): string[] => readFileSync(log, 'utf8').trim().split('\n')
const state = (): SupervisorState => JSON.parse(readFileSync(join(dir, 'supervisor.json'), 'utf8')) as SupervisorState
const pidOf = (name: string): number => state().children.find((c) => c.name === name)!.pid!
const until = async (check: () => boolean, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'novum-supervisor-'))
  script = join(dir, 'child.cjs')
  log = join(dir, 'events.log')
  writeFileSync(script, CHILD)
  writeFileSync(log, '')
  lines = []
})

afterEach(async () => {
  await supervisor?.stop([], 2000)
  supervisor = undefined
  rmSync(dir, { recursive: true, force: true })
})

describe('Supervisor', () => {
  it('starts groups in order, prefixes output, and records pids in its state file', async () => {
    const s = make({ conductor: 'ready', 'compute-1': 'ready', 'compute-2': 'ready', api: 'ready' })
    await s.startGroups([['conductor'], ['compute-1', 'compute-2'], ['api']])
    expect(events()[0]).toBe('start conductor')
    expect(events()[3]).toBe('start api')
    expect(state().state).toBe('running')
    expect(state().children.every((c) => c.state === 'running' && typeof c.pid === 'number')).toBe(true)
    await until(() => lines.some((l) => l.includes('api        | api says hello')))
    expect(readFileSync(join(dir, 'logs', 'conductor.log'), 'utf8')).toContain('conductor says hello')
  })

  it('stops in phases: each phase has exited before the next gets SIGTERM', async () => {
    const s = make({ conductor: 'ready', 'compute-1': 'ready', api: 'ready' })
    await s.startGroups([['conductor'], ['compute-1'], ['api']])
    await s.stop([['api'], ['compute-1'], ['conductor']], 5000)
    expect(events().filter((e) => e.startsWith('stop'))).toEqual(['stop api', 'stop compute-1', 'stop conductor'])
    expect(state().children.every((c) => c.state === 'exited' && c.exitCode === 0)).toBe(true)
    expect(state().state).toBe('stopped')
  })

  it('kills a child that ignores SIGTERM once the phase times out', async () => {
    const s = make({ stubborn: 'stubborn' })
    await s.startGroups([['stubborn']])
    await s.stop([['stubborn']], 300)
    expect(state().children[0]).toMatchObject({ state: 'exited', signal: 'SIGKILL' })
  })

  it('rejects start-up when a child exits before it is ready, with its output', async () => {
    const s = make({ broken: 'fail' })
    await expect(s.startGroups([['broken']])).rejects.toThrow(/broken exited before it was ready \(exit code 3\):\nbroken cannot start/)
  })

  it('with restart never, leaves a killed child dead until startStopped (SIGUSR2)', async () => {
    const s = make({ 'compute-1': 'ready', 'compute-2': 'ready' })
    await s.startGroups([['compute-1', 'compute-2']])
    const first = pidOf('compute-1')
    process.kill(first, 'SIGKILL')
    await until(() => state().children.find((c) => c.name === 'compute-1')!.state === 'exited')
    expect(state().children.find((c) => c.name === 'compute-1')).toMatchObject({ signal: 'SIGKILL', restarts: 0 })
    expect(lines.some((l) => l.includes('compute-1 exited (signal SIGKILL) unexpectedly'))).toBe(true)
    await new Promise((r) => setTimeout(r, 300))
    expect(state().children.find((c) => c.name === 'compute-1')!.state).toBe('exited')
    expect(s.startStopped()).toEqual(['compute-1'])
    await until(() => state().children.find((c) => c.name === 'compute-1')!.state === 'running')
    expect(pidOf('compute-1')).not.toBe(first)
    expect(state().children.find((c) => c.name === 'compute-1')!.restarts).toBe(1)
  })

  it('with restart on-failure, starts a killed child again by itself', async () => {
    const s = make({ 'compute-1': 'ready' }, 'on-failure')
    await s.startGroups([['compute-1']])
    const first = pidOf('compute-1')
    process.kill(first, 'SIGKILL')
    await until(() => {
      const c = state().children[0]!
      return c.state === 'running' && c.pid !== first
    })
    expect(state().children[0]!.restarts).toBe(1)
  })
})
