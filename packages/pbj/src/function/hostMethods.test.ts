import { describe, expect, expectTypeOf, it } from 'vitest'
import { HostCallError } from '../internal/errors.js'
import { bootstrapSource } from '../runtime/bootstrap.js'
import type { BaseContext } from './context.js'
import { type HostNamespace, hostMethodNames, hostMethods, hostNamespaces } from './hostMethods.js'
import { parseHostArgs } from './parseHostArgs.js'

const car = `0x${'ab'.repeat(20)}`

describe('the host-method table', () => {
  it('gives the bootstrap one stub per method, under its namespace, in table order', () => {
    const stubs = Object.entries(hostNamespaces).flatMap(([namespace, methods]) =>
      methods.map((m) => `${namespace}.${m.name}`),
    )
    expect(stubs).toEqual(hostMethodNames)
    expect(bootstrapSource).toContain(JSON.stringify(hostNamespaces))
    // Only the calls that carry an ABI have it slimmed in the sandbox.
    expect(hostMethodNames.filter((m) => 'slimAbi' in hostMethods[m])).toEqual(['chain.read', 'chain.write'])
  })

  it('types ctx from the table: its namespaces and their methods', () => {
    expectTypeOf<HostNamespace>().toEqualTypeOf<'chain' | 'devices' | 'kv'>()
    expectTypeOf<keyof BaseContext['devices']>().toEqualTypeOf<'lock' | 'unlock' | 'get' | 'warn'>()
    expectTypeOf<keyof BaseContext['kv']>().toEqualTypeOf<'get' | 'set' | 'delete'>()
    expectTypeOf<BaseContext['kv']['delete']>().toEqualTypeOf<(key: string) => Promise<void>>()
  })

  it('meters writes when asked and device messages once served, nothing else', () => {
    const meters = Object.fromEntries(hostMethodNames.map((m) => [m, hostMethods[m].meter]))
    expect(meters).toEqual({
      'chain.read': null,
      'chain.write': { count: 'writes', when: 'asked' },
      'devices.lock': { count: 'deviceMessages', when: 'served' },
      'devices.unlock': { count: 'deviceMessages', when: 'served' },
      'devices.get': null,
      'devices.warn': { count: 'deviceMessages', when: 'served' },
      'kv.get': null,
      'kv.set': null,
      'kv.delete': null,
    })
  })
})

describe('parseHostArgs', () => {
  it('passes good arguments through, with the defaults a handler relies on', () => {
    expect(parseHostArgs('devices.lock', [car])).toEqual([car, {}])
    expect(parseHostArgs('devices.warn', [car, null])).toEqual([car, {}])
    // The class's own fields pass through to its toDesired.
    expect(parseHostArgs('devices.lock', [car, { reason: 'r', lockAt: 5n }])).toEqual([
      car,
      { reason: 'r', lockAt: 5n },
    ])
    expect(parseHostArgs('kv.set', ['k'])).toEqual(['k', null])
    // A key is its string, as String(key) makes it.
    expect(parseHostArgs('kv.get', [42])).toEqual(['42'])
  })

  it('refuses a bad argument naming the method, the argument and how to call it', () => {
    const bad = () => parseHostArgs('devices.get', ['0x12'])
    expect(bad).toThrow(HostCallError)
    expect(bad).toThrow('ctx.devices.get: deviceId must be a 0x-prefixed 20-byte address; got 0x12')
    expect(bad).toThrow('Fix: Call it as ctx.devices.get(deviceId).')
    expect(() => parseHostArgs('devices.unlock', [])).toThrow(
      'ctx.devices.unlock: deviceId must be a 0x-prefixed 20-byte address; got undefined',
    )
    expect(() => parseHostArgs('devices.warn', [car, 'soon'])).toThrow(
      'ctx.devices.warn: options must be an options object; got soon',
    )
    expect(() => parseHostArgs('chain.read', [{ contract: 'CarLoan', functionName: 'f' }])).toThrow(
      'ctx.chain.read: params.abi must be an ABI (an array); got undefined',
    )
    expect(() =>
      parseHostArgs('chain.read', [{ contract: 'CarLoan', abi: [], functionName: 'f', blockNumber: 3 }]),
    ).toThrow("ctx.chain.read: params.blockNumber must be a bigint or 'latest'; got 3")
  })
})
