// The car's operator cache against a real DeviceRegistry on a real Anvil, read through a counting proxy:
// strangers are refused from the cache or the rate limit without RPC, the cache stays within its bound,
// and operators added or removed on chain are seen for commands of later blocks.
import { randomBytes } from 'node:crypto'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRpcProxy, type RpcProxy } from '../../../test/helpers/createRpcProxy.js'
import {
  type RegisteredDevice,
  type RegistryFixture,
  startRegistry,
} from '../../../test/helpers/startRegistry.js'
import { createOperatorCheck, type OperatorCheck, type OperatorCheckOptions } from './createOperatorCheck.js'

const stranger = () => `0x${randomBytes(20).toString('hex')}`
/** A block timestamp no chain has reached: every command claiming it asks the car to catch up first. */
const FUTURE = 2 ** 40
/** A command with no block (an older engine's): the car places it by its timestamp alone. */
const at = (chainTime: number) => ({ chainBlock: 0, chainTime })

describe('operator check (real Anvil, RPC counted by a proxy)', () => {
  let registry: RegistryFixture
  let proxy: RpcProxy
  let device: RegisteredDevice
  const checks: OperatorCheck[] = []
  const rpcCalls = () => Object.values(proxy.stats().calls).reduce((sum, n) => sum + n, 0)
  const open = (options: Partial<OperatorCheckOptions> = {}) => {
    const check = createOperatorCheck({
      rpcUrl: proxy.httpUrl,
      registry: registry.registry,
      deviceId: device.deviceId,
      // Only commands make the car read the registry, unless a test says otherwise.
      pollIntervalMs: 600_000,
      logger: { warn: () => {} },
      ...options,
    })
    checks.push(check)
    return check
  }

  beforeAll(async () => {
    registry = await startRegistry()
    proxy = await createRpcProxy(registry.chain.rpcUrl)
    device = await registry.newDevice()
  })
  afterAll(async () => {
    for (const check of checks) await check.close()
    await proxy?.close()
    await registry?.stop()
  })

  it('answers strangers beyond the rate limit with no RPC at all, and still knows its operator', async () => {
    // The operator's first lookup is one of the four: a car meets its operator as a signer it does not know.
    const check = open({ unknownSignerLookups: { perSecond: 0, burst: 4 } })
    const operator = registry.operator.address
    expect(await check.check(operator, at(await registry.chainTime()))).toBe('operator')
    const spent = [stranger(), stranger(), stranger()]
    for (const signer of spent) expect(await check.check(signer, at(FUTURE))).toBe('not-operator')

    const before = rpcCalls()
    const answers = new Set<string>()
    for (let i = 0; i < 500; i++) answers.add(await check.check(stranger(), at(FUTURE)))
    // A stranger already refused, claiming a future block: a catch-up would cost RPC, so it is rate-limited.
    answers.add(await check.check(spent[0] as string, at(FUTURE)))
    expect(answers).toEqual(new Set(['rate-limited']))
    // The same stranger with a command of a block the car has seen: the cache answers.
    expect(await check.check(spent[1] as string, at(0))).toBe('not-operator')
    expect(rpcCalls() - before).toBe(0)

    // The operator is never rate-limited.
    expect(check.isKnownOperator(operator)).toBe(true)
    expect(await check.check(operator, at(await registry.chainTime()))).toBe('operator')
  })

  it('keeps no more signers than its bound, and keeps its operator', async () => {
    const check = open({ maxCachedSigners: 16, unknownSignerLookups: { perSecond: 0, burst: 1_000 } })
    const operator = registry.operator.address
    expect(await check.check(operator, at(0))).toBe('operator')
    let most = 0
    for (let i = 0; i < 100; i++) {
      expect(await check.check(stranger(), at(0))).toBe('not-operator')
      most = Math.max(most, check.cachedSigners())
    }
    expect(most).toBe(16)
    expect(check.isKnownOperator(operator)).toBe(true)
  })

  it('accepts an operator added after it was cached as a stranger, and refuses it once removed', async () => {
    const check = open({ unknownSignerLookups: { perSecond: 0, burst: 5 } })
    const key = generatePrivateKey()
    const newcomer = privateKeyToAddress(key).toLowerCase()
    expect(await check.check(newcomer, at(await registry.chainTime()))).toBe('not-operator')
    // Answered from the cache while the chain says so.
    expect(await check.check(newcomer, at(0))).toBe('not-operator')

    await registry.addOperator(device.deviceId, newcomer as Hex)
    // A command of the block the operator was added in (or later).
    expect(await check.check(newcomer, at(await registry.chainTime()))).toBe('operator')
    expect(check.isKnownOperator(newcomer)).toBe(true)

    await registry.removeOperator(device.deviceId, newcomer as Hex)
    expect(await check.check(newcomer, at(await registry.chainTime()))).toBe('not-operator')
    expect(check.isKnownOperator(newcomer)).toBe(false)
  })

  it('accepts an operator added while strangers spent every lookup, once the registry logs name it', async () => {
    const check = open({ pollIntervalMs: 200, unknownSignerLookups: { perSecond: 0, burst: 2 } })
    const newcomer = privateKeyToAddress(generatePrivateKey()).toLowerCase()
    expect(await check.check(newcomer, at(await registry.chainTime()))).toBe('not-operator')
    expect(await check.check(stranger(), at(FUTURE))).toBe('not-operator')
    expect(await check.check(stranger(), at(FUTURE))).toBe('rate-limited')

    await registry.addOperator(device.deviceId, newcomer as Hex)
    const addedAt = await registry.chainTime()
    // The background scan sees the OperatorAdded log; a signer the car's own logs name is not rate-limited.
    await expect.poll(() => check.check(newcomer, at(addedAt)), { timeout: 5_000 }).toBe('operator')
    await registry.removeOperator(device.deviceId, newcomer as Hex)
    expect(await check.check(newcomer, at(await registry.chainTime()))).toBe('not-operator')
  })
})
