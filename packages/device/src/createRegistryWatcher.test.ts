// The car's view of DeviceRegistry moved by pushed heads (real Anvil over WebSocket, through a counting
// proxy): a fresh command from a known operator costs no RPC, a block with registry logs costs one getLogs
// for every car sharing the client, and an operator removed in block N is refused for commands of block N
// or later, and for one claiming an older block with a later timestamp, even when the view is not there yet.
import { createPublicClient, type Hex, webSocket } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRpcProxy, type RpcProxy } from '../../../test/helpers/createRpcProxy.js'
import {
  type RegisteredDevice,
  type RegistryFixture,
  startRegistry,
} from '../../../test/helpers/startRegistry.js'
import { createOperatorCheck, type OperatorCheck, type OperatorCheckOptions } from './createOperatorCheck.js'

describe('registry watcher (real Anvil over WebSocket, RPC counted by a proxy)', () => {
  let registry: RegistryFixture
  let proxy: RpcProxy
  let device: RegisteredDevice
  const checks: OperatorCheck[] = []
  const calls = (method: string) => proxy.stats().calls[method] ?? 0
  const rpcCalls = () =>
    Object.entries(proxy.stats().calls).reduce(
      (sum, [method, n]) => (method === 'eth_subscribe' ? sum : sum + n),
      0,
    )
  const open = (options: Partial<OperatorCheckOptions> = {}) => {
    const check = createOperatorCheck({
      rpcUrl: proxy.wsUrl,
      registry: registry.registry,
      deviceId: device.deviceId,
      pollIntervalMs: 600_000,
      logger: { warn: () => {} },
      ...options,
    })
    checks.push(check)
    return check
  }
  /** JSON-RPC straight to Anvil, past the proxy: what the test does is not counted as the car's. */
  const anvil = async (method: string, params: unknown[] = []) => {
    const response = await fetch(registry.anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
    return ((await response.json()) as { result: unknown }).result
  }
  const latest = async () => {
    const block = (await anvil('eth_getBlockByNumber', ['latest', false])) as { number: Hex; timestamp: Hex }
    return { chainBlock: Number(block.number), chainTime: Number(block.timestamp) }
  }
  const mine = async () => {
    await anvil('evm_mine')
    return latest()
  }

  beforeAll(async () => {
    registry = await startRegistry()
    proxy = await createRpcProxy(registry.anvil.rpcUrl)
    device = await registry.newDevice()
  })
  afterAll(async () => {
    for (const check of checks) await check.close()
    await proxy?.close()
    await registry?.stop()
  })

  it('answers a fresh command from a known operator from memory: no RPC for a block with no registry log', async () => {
    // Waits for the push however slow the proxy: what is measured is that the push alone suffices.
    const check = open({ pushWaitMs: 5_000 })
    const operator = registry.operator.address
    expect(await check.check(operator, await latest())).toBe('operator')
    const before = rpcCalls()
    for (let i = 0; i < 5; i++) {
      // The command of the block just mined: the car's view reaches it by the pushed head alone.
      const at = await mine()
      expect(await check.check(operator, at)).toBe('operator')
      expect(check.viewBlock()).toBe(BigInt(at.chainBlock))
    }
    expect(rpcCalls() - before).toBe(0)
  })

  it('refuses an operator removed in block N for a command of block N, though it answers from memory', async () => {
    const check = open({ pushWaitMs: 5_000 })
    const key = generatePrivateKey()
    const newcomer = privateKeyToAddress(key).toLowerCase() as Hex
    await registry.addOperator(device.deviceId, newcomer)
    expect(await check.check(newcomer, await latest())).toBe('operator')
    expect(check.isKnownOperator(newcomer)).toBe(true)

    const heads = calls('eth_getBlockByNumber')
    const removed = await registry.removeOperator(device.deviceId, newcomer)
    const block = (await anvil('eth_getBlockByNumber', [`0x${removed.blockNumber.toString(16)}`, false])) as {
      timestamp: Hex
    }
    const atRemoval = { chainBlock: Number(removed.blockNumber), chainTime: Number(block.timestamp) }
    expect(await check.check(newcomer, atRemoval)).toBe('not-operator')
    expect(check.isKnownOperator(newcomer)).toBe(false)
    // The view got there by the push (its bloom named the registry: one getLogs by block hash), not by a
    // catch-up from the command's path.
    expect(calls('eth_getBlockByNumber')).toBe(heads)
    // And later blocks, from memory.
    expect(await check.check(newcomer, await mine())).toBe('not-operator')
  })

  it('refuses a removed operator whose command claims an older block with a later timestamp', async () => {
    // Over http with no polling: the view stays where the last command put it, before the removal.
    const check = open({ rpcUrl: proxy.httpUrl })
    const newcomer = privateKeyToAddress(generatePrivateKey()).toLowerCase() as Hex
    await registry.addOperator(device.deviceId, newcomer)
    const before = await latest()
    expect(await check.check(newcomer, before)).toBe('operator')
    await anvil('evm_increaseTime', [60])
    const removed = await registry.removeOperator(device.deviceId, newcomer)
    const after = await latest()
    expect(after.chainBlock).toBe(Number(removed.blockNumber))
    expect(after.chainTime).toBeGreaterThan(before.chainTime)
    // Signed by the removed key: a block the car's view covers, a timestamp past it.
    expect(await check.check(newcomer, { chainBlock: before.chainBlock, chainTime: after.chainTime })).toBe(
      'not-operator',
    )
  })

  it('refuses a command of block N when blocks share a timestamp (the view is placed by number)', async () => {
    const check = open({ rpcUrl: proxy.httpUrl })
    const newcomer = privateKeyToAddress(generatePrivateKey()).toLowerCase() as Hex
    await registry.addOperator(device.deviceId, newcomer)
    const before = await latest()
    expect(await check.check(newcomer, before)).toBe('operator')
    const removed = await registry.removeOperator(device.deviceId, newcomer)
    // Block N with the timestamp of the view's block, as on Arbitrum: the number says the view is behind.
    const command = { chainBlock: Number(removed.blockNumber), chainTime: before.chainTime }
    expect(await check.check(newcomer, command)).toBe('not-operator')
  })

  it('shares one head subscription, and one getLogs per block with registry logs, among the cars of a client', async () => {
    // The cars of the tests before have watchers of their own, which would read the same logs.
    for (const check of checks.splice(0)) await check.close()
    const client = createPublicClient({ transport: webSocket(proxy.wsUrl) })
    const subscribes = calls('eth_subscribe')
    const devices = [device, await registry.newDevice(), await registry.newDevice()]
    const fleet = devices.map((car) => open({ client, deviceId: car.deviceId }))
    const operator = registry.operator.address
    for (const check of fleet) expect(await check.check(operator, await latest())).toBe('operator')
    expect(calls('eth_subscribe') - subscribes).toBe(1)

    const logs = calls('eth_getLogs')
    const other = privateKeyToAddress(generatePrivateKey()) as Hex
    const added = await registry.addOperator(devices[1]?.deviceId as string, other)
    await expect.poll(() => fleet.every((check) => check.viewBlock() === added.blockNumber)).toBe(true)
    expect(calls('eth_getLogs') - logs).toBe(1)
    const before = rpcCalls()
    const at = await mine()
    await expect.poll(() => fleet.every((check) => check.viewBlock() === BigInt(at.chainBlock))).toBe(true)
    for (const check of fleet) expect(await check.check(operator, at)).toBe('operator')
    expect(rpcCalls() - before).toBe(0)
    for (const check of fleet) await check.close()
    await client.transport.getRpcClient().then((rpc) => rpc.close())
  })

  it('still refuses a removed operator for a command of block N after its WebSocket dropped', async () => {
    const check = open()
    const newcomer = privateKeyToAddress(generatePrivateKey()).toLowerCase() as Hex
    await registry.addOperator(device.deviceId, newcomer)
    expect(await check.check(newcomer, await latest())).toBe('operator')
    proxy.dropWebSockets()
    const removed = await registry.removeOperator(device.deviceId, newcomer)
    const at = { chainBlock: Number(removed.blockNumber), chainTime: (await latest()).chainTime }
    await expect
      .poll(() => check.check(newcomer, at).catch(() => 'unverifiable'), { timeout: 10_000 })
      .toBe('not-operator')
    // Once the heads flow again, a known operator is answered from memory again.
    const operator = registry.operator.address
    expect(await check.check(operator, await latest())).toBe('operator')
    const next = await mine()
    await expect.poll(() => check.viewBlock(), { timeout: 10_000 }).toBe(BigInt(next.chainBlock))
    const before = rpcCalls()
    expect(await check.check(operator, next)).toBe('operator')
    expect(rpcCalls() - before).toBe(0)
  })
})
