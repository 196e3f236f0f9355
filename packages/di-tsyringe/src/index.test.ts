// Like any application that imports tsyringe itself, load the Reflect polyfill before it.
import 'reflect-metadata'
import { describe, expect, it } from 'vitest'
import { container as rootContainer } from 'tsyringe'
import { provide, provideValue, resolveProviders, token } from '@novum/core'
import { createTsyringeResolver, registerProviders } from './index.js'

// The table of cases shared with core's resolveProviders and the inversify adapter is in
// resolver-contract.test.ts; these tests cover what is specific to tsyringe.

interface Counter {
  readonly id: number
}

const COUNTER = token<Counter>('di-tsyringe-test/Counter')
const NAME = token<string>('di-tsyringe-test/Name')
const GREETING = token<string>('di-tsyringe-test/Greeting')

const countingProviders = () => {
  let built = 0
  const providers = [
    provide(COUNTER, [], () => ({ id: ++built })),
    provideValue(NAME, 'nova'),
    provide(GREETING, [NAME] as const, (name) => `hello ${name}`),
  ]
  return { providers, built: () => built }
}

describe(registerProviders.name, () => {
  it('registers into an application container next to its own registrations and returns it', () => {
    const { providers } = countingProviders()
    const container = rootContainer.createChildContainer()
    container.register('app/Extra', { useValue: 'extra' })
    expect(registerProviders(container, providers)).toBe(container)
    expect(container.resolve(GREETING)).toBe('hello nova')
    expect(container.resolve<string>('app/Extra')).toBe('extra')
  })

  it('builds each token once, also when resolved through a child container', () => {
    const { providers, built } = countingProviders()
    const container = registerProviders(rootContainer.createChildContainer(), providers)
    const child = container.createChildContainer()
    expect(child.resolve(COUNTER)).toBe(container.resolve(COUNTER))
    expect(built()).toBe(1)
  })

  it('lets the application override a token by registering it again afterwards', () => {
    const { providers } = countingProviders()
    const container = registerProviders(rootContainer.createChildContainer(), providers)
    container.register(NAME, { useValue: 'placement' })
    expect(container.resolve(GREETING)).toBe('hello placement')
  })

  it('leaves the global container untouched', () => {
    const { providers } = countingProviders()
    registerProviders(rootContainer.createChildContainer(), providers)
    createTsyringeResolver(providers)
    expect(rootContainer.isRegistered(GREETING, true)).toBe(false)
  })

  it('builds one instance per registration when the same providers are registered twice', () => {
    const { providers, built } = countingProviders()
    const first = registerProviders(rootContainer.createChildContainer(), providers)
    const second = registerProviders(rootContainer.createChildContainer(), providers)
    expect(first.resolve(COUNTER)).not.toBe(second.resolve(COUNTER))
    expect(built()).toBe(2)
  })

  it('names the token in the error for a dependency cycle', () => {
    const A = token<string>('di-tsyringe-test/CycleA')
    const B = token<string>('di-tsyringe-test/CycleB')
    const container = registerProviders(rootContainer.createChildContainer(), [
      provide(A, [B] as const, (b) => `a${b}`),
      provide(B, [A] as const, (a) => `b${a}`),
    ])
    expect(() => container.resolve(A)).toThrow(/circular dependency at @novum\/core\/di-tsyringe-test\/Cycle/)
  })

  it('builds a token again after its factory threw, as resolveProviders does', () => {
    let attempts = 0
    const FLAKY = token<number>('di-tsyringe-test/Flaky')
    const providers = [
      provide(FLAKY, [], () => {
        attempts += 1
        if (attempts === 1) throw new Error('first attempt fails')
        return attempts
      }),
    ]
    const resolver = createTsyringeResolver(providers)
    expect(() => resolver.get(FLAKY)).toThrow('first attempt fails')
    expect(resolver.get(FLAKY)).toBe(2)
    expect(resolver.get(FLAKY)).toBe(2)
  })
})

describe(createTsyringeResolver.name, () => {
  it('resolves what resolveProviders resolves', () => {
    const { providers } = countingProviders()
    expect(createTsyringeResolver(providers).get(GREETING)).toBe(resolveProviders(providers).get(GREETING))
  })

  it('exposes its container for further registrations', () => {
    const { providers } = countingProviders()
    const resolver = createTsyringeResolver(providers)
    resolver.container.register('app/Answer', { useValue: 42 })
    expect(resolver.container.resolve<number>('app/Answer')).toBe(42)
    expect(resolver.container.resolve(COUNTER)).toBe(resolver.get(COUNTER))
  })
})
