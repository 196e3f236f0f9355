import { describe, expect, it } from 'vitest'
import { Container } from 'inversify'
import { provide, provideValue, resolveProviders, token } from '@novum/core'
import { createInversifyResolver, toContainerModule } from './index.js'

// The table of cases shared with core's resolveProviders and the tsyringe adapter lives in
// packages/di-tsyringe/src/resolver-contract.test.ts; these tests cover what is specific to inversify.

interface Counter {
  readonly id: number
}

const COUNTER = token<Counter>('di-inversify-test/Counter')
const NAME = token<string>('di-inversify-test/Name')
const GREETING = token<string>('di-inversify-test/Greeting')

const countingProviders = () => {
  let built = 0
  const providers = [
    provide(COUNTER, [], () => ({ id: ++built })),
    provideValue(NAME, 'nova'),
    provide(GREETING, [NAME] as const, (name) => `hello ${name}`),
  ]
  return { providers, built: () => built }
}

describe(toContainerModule.name, () => {
  it('loads into an application container next to its own bindings', () => {
    const { providers } = countingProviders()
    const container = new Container()
    container.bind<string>('app/Extra').toConstantValue('extra')
    container.load(toContainerModule(providers))
    expect(container.get(GREETING)).toBe('hello nova')
    expect(container.get<string>('app/Extra')).toBe('extra')
  })

  it('binds every provider in singleton scope, even when the container defaults to transient', () => {
    const { providers, built } = countingProviders()
    const container = new Container({ defaultScope: 'Transient' })
    container.load(toContainerModule(providers))
    expect(container.get(COUNTER)).toBe(container.get(COUNTER))
    expect(built()).toBe(1)
  })

  it('builds one instance per container when the same module is loaded into two containers', () => {
    const { providers, built } = countingProviders()
    const module = toContainerModule(providers)
    const first = new Container()
    const second = new Container()
    first.load(module)
    second.load(module)
    expect(first.get(COUNTER)).not.toBe(second.get(COUNTER))
    expect(built()).toBe(2)
  })

  it('lets the application rebind a token after loading the module', () => {
    const { providers } = countingProviders()
    const container = new Container()
    container.load(toContainerModule(providers))
    container.rebind(NAME).toConstantValue('placement')
    expect(container.get(GREETING)).toBe('hello placement')
  })

  it('binds only the last provider of a token, so inversify sees no ambiguous match', () => {
    const container = new Container()
    container.load(toContainerModule([provideValue(NAME, 'default'), provideValue(NAME, 'override')]))
    expect(container.getAll(NAME)).toEqual(['override'])
  })

  it('unloads cleanly', () => {
    const { providers } = countingProviders()
    const module = toContainerModule(providers)
    const container = new Container()
    container.load(module)
    container.unload(module)
    expect(container.isBound(GREETING)).toBe(false)
  })
})

describe(createInversifyResolver.name, () => {
  it('resolves what resolveProviders resolves', () => {
    const { providers } = countingProviders()
    expect(createInversifyResolver(providers).get(GREETING)).toBe(resolveProviders(providers).get(GREETING))
  })

  it('exposes its container for further bindings', () => {
    const { providers } = countingProviders()
    const resolver = createInversifyResolver(providers)
    resolver.container.bind<number>('app/Answer').toConstantValue(42)
    expect(resolver.container.get<number>('app/Answer')).toBe(42)
    expect(resolver.container.get(COUNTER)).toBe(resolver.get(COUNTER))
  })
})
