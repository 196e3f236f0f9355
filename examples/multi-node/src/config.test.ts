import { describe, expect, it } from 'vitest'
import { computeHostNames, databaseFamily, databaseName, fakeDelaysFor, optionsToEnv, parseFakeDelays, parseInvocation, redactUrl } from './config.js'

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: '/usr/bin', ...extra })

describe('parseInvocation', () => {
  it('defaults to `up` with Nova-like defaults: PostgreSQL, local RabbitMQ, 3 agents, 10 s heartbeats, 60 s down time', () => {
    const inv = parseInvocation([], env(), '/srv')
    expect(inv.command).toBe('up')
    expect(inv.options).toMatchObject({
      dataDir: '/srv/.novum-multi-node',
      database: 'postgres://postgres@127.0.0.1:5432/novum',
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      exchange: 'novum',
      computes: 3,
      driver: 'fake',
      reportIntervalSec: 10,
      serviceDownTimeSec: 60,
      rpcTimeoutSec: 60,
      restart: 'never',
    })
  })

  it('reads every setting from its environment variable, and a flag wins over it', () => {
    const inv = parseInvocation(['--computes', '5'], env({ NOVUM_COMPUTES: '2', NOVUM_DATABASE: 'mariadb://root@127.0.0.1:3306/nv', NOVUM_REPORT_INTERVAL: '0.5' }), '/')
    expect(inv.options.computes).toBe(5)
    expect(inv.options.database).toBe('mysql://root@127.0.0.1:3306/nv')
    expect(inv.options.reportIntervalSec).toBe(0.5)
  })

  it('accepts --computes 0: the control services only, agents run elsewhere', () => {
    expect(parseInvocation(['--computes', '0'], env(), '/').options.computes).toBe(0)
    expect(computeHostNames({ computes: 0 })).toEqual([])
  })

  it('parses `service compute --compute-host` and `service conductor`', () => {
    expect(parseInvocation(['service', 'compute', '--compute-host', 'compute-7'], env(), '/')).toMatchObject({ command: 'service', role: 'compute', host: 'compute-7' })
    expect(parseInvocation(['service', 'conductor'], env(), '/')).toMatchObject({ command: 'service', role: 'conductor' })
    expect(parseInvocation(['init'], env(), '/').command).toBe('init')
  })

  it.each([
    { argv: ['service'], error: /service needs a role/ },
    { argv: ['service', 'compute'], error: /--compute-host/ },
    { argv: ['service', 'nova'], error: /service needs a role: api, conductor, scheduler, compute \(got "nova"\)/ },
    { argv: ['deploy'], error: /unknown command "deploy"/ },
    { argv: ['--report-interval', '10', '--service-down-time', '10'], error: /must be shorter than --service-down-time/ },
    { argv: ['--database', 'sqlite:novum.db'], error: /--database must be a postgres/ },
    { argv: ['--fake-delay', 'spawn=fast'], error: /not \[host:\]operation=ms/ },
    { argv: ['--fake-delay', 'launch=5'], error: /operation "launch" is unknown/ },
  ])('rejects $argv', ({ argv, error }) => {
    expect(() => parseInvocation(argv, env(), '/')).toThrow(error)
  })

  it('round-trips through optionsToEnv: a child given that environment parses the same options', () => {
    const parent = parseInvocation(
      ['--computes', '4', '--fake-delay', 'spawn=10,compute-2:spawn=3000', '--report-interval', '2', '--service-down-time', '10', '--rpc-timeout', '2.5', '--image-dir', '/img'],
      env({ NOVUM_DRIVER_URI: 'qemu:///system' }),
      '/data',
    )
    const child = parseInvocation(['service', 'scheduler'], env(optionsToEnv(parent.options)), '/elsewhere')
    expect(child.options).toEqual(parent.options)
    expect(child.options.driverSettings).toEqual({ uri: 'qemu:///system' })
  })
})

describe('parseFakeDelays', () => {
  it('applies host-less entries to every host and lets a host override them', () => {
    const delays = parseFakeDelays('spawn=100, destroy=5, compute-2:spawn=30000')
    expect(fakeDelaysFor(delays, 'compute-1')).toEqual({ spawn: 100, destroy: 5 })
    expect(fakeDelaysFor(delays, 'compute-2')).toEqual({ spawn: 30000, destroy: 5 })
    expect(fakeDelaysFor(parseFakeDelays(''), 'compute-1')).toEqual({})
  })
})

describe('database URLs', () => {
  it.each([
    { url: 'postgres://postgres@127.0.0.1:5432/novum', family: 'postgres', name: 'novum' },
    { url: 'postgresql://u:p@db/nova_api', family: 'postgres', name: 'nova_api' },
    { url: 'mysql://root@127.0.0.1:3306/', family: 'mysql', name: 'novum' },
  ])('$url → $family, database $name', ({ url, family, name }) => {
    expect(databaseFamily(url)).toBe(family)
    expect(databaseName(url)).toBe(name)
  })

  it('redacts passwords', () => {
    expect(redactUrl('amqp://nova:s3cret@rabbit:5672/nova')).toBe('amqp://nova:***@rabbit:5672/nova')
    expect(redactUrl('postgres://postgres@127.0.0.1/novum')).toBe('postgres://postgres@127.0.0.1/novum')
  })
})

describe('computeHostNames', () => {
  it('names the agents compute-1 … compute-N', () => {
    expect(computeHostNames({ computes: 3 })).toEqual(['compute-1', 'compute-2', 'compute-3'])
  })
})
