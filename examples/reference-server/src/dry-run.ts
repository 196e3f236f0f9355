import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { compute, HttpError, login, type Session } from './client.js'

/** Where the command writes. */
export interface DryRunIo {
  out(text: string): void
  err(text: string): void
}

/** The `dry_run` answer of `POST /os-scheduler-dry-run`. */
interface DryRunAnswer {
  readonly placed: boolean
  readonly summary: string
  readonly destinations: readonly { readonly host: string; readonly hypervisor_hostname: string; readonly availability_zone: string | null; readonly alternates: readonly string[] }[]
  readonly explain_host?: { readonly summary: string; readonly outcome: string }
  readonly explanation: unknown
}

/** The `dry-run` subcommand's options. */
export function buildDryRunCommand(): Command {
  const collect = (value: string, previous: string[]) => [...previous, value]
  return new Command('novum-server dry-run')
    .description('Asks the running reference server where a server would land, and why (not) a given host, without claiming anything (POST /os-scheduler-dry-run, admin).')
    .requiredOption('--flavor <name-or-id>', 'flavor name (m1.tiny) or id')
    .option('--image <id>', 'image id (default: the first active image)')
    .option('--host <name>', 'a host to explain: why it was, or was not, chosen')
    .option('--az <zone>', 'availability zone (az, az:host or az:host:node)')
    .option('--count <n>', 'how many servers (all or nothing)', '1')
    .option('--hint <key=value>', 'a scheduler hint (repeatable), e.g. group=<uuid>', collect, [] as string[])
    .option('--project <id>', 'play the request as this project (tenant isolation)')
    .option('--json', 'print the whole answer as JSON, explanation included')
    .addOption(new Option('--data-dir <path>', 'the server\'s data directory, whose openrc gives the credentials (OS_* variables win)').env('NOVUM_DATA_DIR').default('.novum'))
}

/** OS_* credentials: from the environment, else from the data directory's `openrc`. */
function credentials(dataDir: string, env: NodeJS.ProcessEnv): { authUrl: string; user: string; password: string; project: string } {
  const vars: Record<string, string> = {}
  const file = join(dataDir, 'openrc')
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^export (OS_[A-Z_]+)='(.*)'$/.exec(line.trim()) ?? /^export (OS_[A-Z_]+)=(.*)$/.exec(line.trim())
      if (m) vars[m[1] as string] = (m[2] as string).replaceAll("'\\''", "'")
    }
  }
  const get = (key: string) => env[key] ?? vars[key]
  const authUrl = get('OS_AUTH_URL')
  const user = get('OS_USERNAME')
  const password = get('OS_PASSWORD')
  if (!authUrl || !user || !password) throw new Error(`no credentials: set OS_AUTH_URL, OS_USERNAME and OS_PASSWORD, or point --data-dir at a server's data directory (no ${file})`)
  return { authUrl: authUrl.replace(/\/v3\/?$/, ''), user, password, project: get('OS_PROJECT_NAME') ?? 'admin' }
}

async function flavorId(session: Session, wanted: string): Promise<string> {
  const { body } = await compute<{ flavors: { id: string; name: string }[] }>(session, 'GET', '/flavors/detail?is_public=None')
  const flavor = body.flavors.find((f) => f.id === wanted) ?? body.flavors.find((f) => f.name === wanted)
  if (!flavor) throw new Error(`no flavor named or numbered "${wanted}" (known: ${body.flavors.map((f) => f.name).join(', ')})`)
  return flavor.id
}

async function defaultImage(session: Session): Promise<string> {
  const res = await fetch(`${session.imageUrl}/v2/images?status=active`, { headers: { 'x-auth-token': session.token } })
  const body = (await res.json()) as { images?: { id: string }[] }
  const first = body.images?.[0]
  if (!first) throw new Error('no active image; pass --image')
  return first.id
}

/** Renders an answer for a terminal. */
export function formatDryRun(answer: DryRunAnswer): string {
  const lines: string[] = []
  if (answer.placed) {
    answer.destinations.forEach((d, i) => {
      const who = answer.destinations.length > 1 ? `server ${i + 1}: ` : ''
      lines.push(`${who}would land on ${d.host} (node ${d.hypervisor_hostname}, zone ${d.availability_zone ?? '-'})${d.alternates.length ? `; alternates: ${d.alternates.join(', ')}` : ''}`)
    })
  } else {
    lines.push(`would not land anywhere: ${answer.summary}`)
  }
  if (answer.explain_host) lines.push(answer.explain_host.summary)
  return `${lines.join('\n')}\n`
}

/**
 * `novum-server dry-run --flavor m1.tiny [--image <id>] [--host compute-3] …`: logs in with the data directory's
 * credentials, asks the running server's `POST /os-scheduler-dry-run`, and prints where the server would land and
 * why (not) `--host`. Exit status: 0 placed, 2 not placed, 1 on an error.
 */
export async function runDryRunCommand(argv: readonly string[], io: DryRunIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<number> {
  const cmd = buildDryRunCommand().exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err })
  try {
    cmd.parse([...argv], { from: 'user' })
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode
    return code === 0 ? 0 : 1
  }
  const o = cmd.opts<{ flavor: string; image?: string; host?: string; az?: string; count: string; hint: string[]; project?: string; json?: boolean; dataDir: string }>()
  try {
    const c = credentials(resolve(cwd, o.dataDir), env)
    const session = await login(c.authUrl, c.user, c.password, c.project)
    const hints: Record<string, string | string[]> = {}
    for (const h of o.hint) {
      const at = h.indexOf('=')
      if (at < 1) throw new Error(`--hint must be key=value, got "${h}"`)
      const key = h.slice(0, at)
      const value = h.slice(at + 1)
      const prev = hints[key]
      hints[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value]
    }
    const body = {
      server: {
        flavorRef: await flavorId(session, o.flavor),
        imageRef: o.image ?? (await defaultImage(session)),
        min_count: Number(o.count),
        ...(o.az ? { availability_zone: o.az } : {}),
      },
      ...(Object.keys(hints).length ? { 'os:scheduler_hints': hints } : {}),
      ...(o.host ? { explain_host: o.host } : {}),
      ...(o.project ? { project_id: o.project } : {}),
    }
    const { body: answer } = await compute<{ dry_run: DryRunAnswer }>(session, 'POST', '/os-scheduler-dry-run', body)
    io.out(o.json ? `${JSON.stringify(answer.dry_run, null, 2)}\n` : formatDryRun(answer.dry_run))
    return answer.dry_run.placed ? 0 : 2
  } catch (err) {
    const message = err instanceof HttpError ? `${err.status}: ${err.body}` : (err as Error).message
    io.err(`novum-server dry-run: ${message}\n`)
    return 1
  }
}
