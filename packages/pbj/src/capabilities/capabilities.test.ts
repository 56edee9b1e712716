import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir } from '../../../../test/fixtures/testFunctions.js'
import { setKv } from '../engine/setKv.js'
import { FunctionBuildError, KvLimitError } from '../internal/errors.js'
import { loadFunction } from '../runtime/loadFunction.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { checkDeviceText } from './checkDeviceText.js'

const fns = makeFunctionsDir()
afterAll(() => fns.remove())

const withCapabilities = (name: string, capabilities: string) =>
  loadFunction(
    fns.write(
      name,
      `export default defineFunction({ trigger: { type: 'blocks', every: 1 }, capabilities: ${capabilities}, handler() {} })`,
    ),
  )

describe('capabilities in defineFunction', () => {
  it('loads a declaration, normalized: maxValue a bigint (default 0n), absent fields empty', async () => {
    const bundle = await withCapabilities(
      'declares',
      "{ devices: { actions: ['lock', 'warn'], where: { contract: 'CarLoan', functionName: 'isCarDelinquent' } }, write: [{ contract: '*', functionName: 'payDue()' }, { contract: 'CarLoan', functionName: 'x', maxValue: 5 }], secrets: ['API_KEY'] }",
    )
    expect(bundle.capabilities).toEqual({
      devices: { actions: ['lock', 'warn'], where: { contract: 'CarLoan', functionName: 'isCarDelinquent' } },
      write: [
        { contract: '*', functionName: 'payDue()', maxValue: 0n },
        { contract: 'CarLoan', functionName: 'x', maxValue: 5n },
      ],
      secrets: ['API_KEY'],
    })
    const none = await loadFunction(
      fns.write(
        'none',
        "export default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler() {} })",
      ),
    )
    expect(none.capabilities).toEqual({ devices: { actions: [], where: null }, write: [], secrets: [] })
  })

  it.each([
    [
      "{ devices: { actions: ['fly'] } }",
      "capabilities.devices.actions[0] must be a non-empty list of 'lock', 'unlock', 'warn', e.g. ['lock']; got 'fly'",
    ],
    ['{ devices: { actions: [] } }', 'capabilities.devices.actions must be a non-empty list'],
    ["{ device: { actions: ['lock'] } }", 'capabilities.device is not a known field'],
    [
      "{ write: [{ contract: 'CarLoan' }] }",
      "capabilities.write[0].functionName must be a contract function's name",
    ],
    [
      "{ write: [{ contract: 'CarLoan', functionName: 'payDue', maxValue: -1n }] }",
      'capabilities.write[0].maxValue must be a non-negative bigint of wei',
    ],
    ["{ secrets: 'API_KEY' }", "capabilities.secrets must be a list of secret names, e.g. ['API_KEY']"],
  ])('refuses %s with the field and an example', async (capabilities, message) => {
    const error = await withCapabilities('bad', capabilities).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FunctionBuildError)
    expect((error as FunctionBuildError).shortMessage).toContain(`bad.ts: ${message}`)
    expect((error as FunctionBuildError).hint).toContain('capabilities: { devices:')
  })
})

describe('device text', () => {
  it('takes up to 160 printable characters, and refuses more or control characters', () => {
    expect(() => checkDeviceText('devices.warn', { message: 'é'.repeat(160) })).not.toThrow()
    expect(() => checkDeviceText('devices.warn', { message: 'x'.repeat(161) })).toThrow(
      'ctx.devices.warn: message is 161 characters; at most 160 are shown',
    )
    expect(() => checkDeviceText('devices.lock', { message: 'pay\nnow' })).toThrow(
      'message holds the control character U+000A at position 3',
    )
    expect(() => checkDeviceText('devices.lock', { message: 'abc\u202edcba' })).toThrow('U+202E')
    expect(() => checkDeviceText('devices.lock', { reason: 'r'.repeat(65) })).toThrow(
      'reason is 65 characters',
    )
  })
})

describe('kv limits on a real SQLite store', () => {
  const limits = { timeoutMs: 1000, memoryMb: 32, kvValueBytes: 2048, kvTotalBytes: 5000 }

  it('refuses a value over the value limit or a function over its total, storing nothing', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const common = { store, limits }
    await expect(setKv(common, 'f', 'big', 'x'.repeat(3000))).rejects.toThrow(
      "ctx.kv.set('big'): the value is 2.9 KiB as JSON; a value may be at most 2 KiB",
    )
    expect(await store.kvGet('f', 'big')).toBeNull()
    await setKv(common, 'f', 'a', 'x'.repeat(2000))
    await setKv(common, 'f', 'b', 'x'.repeat(2000))
    const error = await setKv(common, 'f', 'c', 'x'.repeat(2000)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KvLimitError)
    expect((error as KvLimitError).shortMessage).toBe(
      "ctx.kv.set('c'): function 'f' would hold 5.9 KiB of kv; at most 4.9 KiB",
    )
    expect((error as KvLimitError).hint).toContain('limits.kvTotalBytes')
    expect(await store.kvGet('f', 'c')).toBeNull()
    // Replacing a value counts the new one only; another function has its own total.
    await setKv(common, 'f', 'a', 'y'.repeat(2000))
    await setKv(common, 'g', 'c', 'x'.repeat(2000))
    expect(await store.kvGet('f', 'a')).toBe(JSON.stringify('y'.repeat(2000)))
    await store.close()
  })
})
