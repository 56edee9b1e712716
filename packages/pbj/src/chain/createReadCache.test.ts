import { carLoanAbi } from '@pbj/contracts'
import { encodeFunctionData, type Hex, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GuardRefusedError } from '../actions/devices/CommandRefusedError.js'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import { guardCommand } from '../actions/devices/guardCommand.js'
import { type DemoStack, startDemoStack } from '../demo/startDemoStack.js'
import { createChainConnection } from './createChainConnection.js'
import { createReadCache } from './createReadCache.js'
import type { ChainConnection } from './types.js'

// A real Anvil with the demo contracts; a reorg is Anvil's snapshot and revert, then another block at the
// same height. The state each fork has is written straight into CarLoan's storage (its loan count).
let stack: DemoStack
let chain: ChainConnection
let carLoan: Hex
let countSlot: Hex
const rpc = async (method: string, params: unknown[] = []) => {
  const response = await fetch(stack.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await response.json()) as { result?: unknown; error?: { message: string } }
  if (body.error) throw new Error(body.error.message)
  return body.result
}
const setCount = (n: bigint) => rpc('anvil_setStorageAt', [carLoan, countSlot, toHex(n, { size: 32 })])
const countAt = (blockNumber: bigint) =>
  chain.readContract({ address: carLoan, abi: carLoanAbi, functionName: 'loanCount', blockNumber })
const countCall = () => ({
  to: carLoan,
  data: encodeFunctionData({ abi: carLoanAbi, functionName: 'loanCount' }),
})
/** Mines a block with the loan count at `n`; the connection sees its header as the engine would. */
const mineWithCount = async (n: bigint) => {
  await setCount(n)
  await rpc('evm_mine')
  return chain.getHeader('latest')
}

beforeAll(async () => {
  stack = await startDemoStack({ cars: 1 })
  chain = await createChainConnection({ rpcUrl: stack.wsUrl })
  carLoan = stack.deployment.contracts.CarLoan
  // The slot that holds loanCount (1 with one car): the one whose change the view follows.
  for (let slot = 0; slot < 64; slot++) {
    const at = toHex(slot, { size: 32 })
    if (BigInt((await rpc('eth_getStorageAt', [carLoan, at, 'latest'])) as Hex) !== 1n) continue
    countSlot = at
    await setCount(7n)
    const moved = await chain.readContract({ address: carLoan, abi: carLoanAbi, functionName: 'loanCount' })
    await setCount(1n)
    if (moved === 7n) break
  }
}, 60_000)
afterAll(async () => {
  await chain?.close()
  await stack?.stop()
})

/** A class whose guard allows a lock only while the loan count is 1 (no operator: no registry read). */
const countGuard: DeviceClass = {
  name: 'count',
  async guard(_command, guardChain) {
    const count = await guardChain.read({
      address: carLoan,
      abi: carLoanAbi,
      functionName: 'loanCount',
      args: [],
    })
    return count === 1n ? { ok: true } : { ok: false, reason: 'count', message: `count is ${count}` }
  },
  toDesired: () => ({ locked: true }),
}

describe('the per-block read cache', () => {
  it('never lets the guard use a prefetched answer of a block a reorg replaced', async () => {
    const snapshot = await rpc('evm_snapshot')
    const first = await mineWithCount(1n)
    chain.prefetchReads([countCall()], first)
    expect(await countAt(first.number)).toBe(1n)
    await rpc('evm_revert', [snapshot])
    const replaced = await mineWithCount(2n)
    expect(replaced.number).toBe(first.number)
    expect(replaced.hash).not.toBe(first.hash)
    const services = {
      chain,
      logger: { warn: () => {} },
      contracts: { CarLoan: carLoan },
      deviceClass: countGuard,
      operator: null,
    }
    const command = { deviceId: '0xcar', action: 'lock' as const, desired: { locked: true }, current: null }
    // The old fork's cached "1" would allow the lock; the block at that height now says 2.
    await expect(guardCommand(services, command, first.number)).rejects.toBeInstanceOf(GuardRefusedError)
    expect(await countAt(first.number)).toBe(2n)
    await setCount(1n)
    await rpc('evm_mine')
  })

  it('serves a prefetched answer only to the same read at the same block', async () => {
    const before = await mineWithCount(1n)
    await rpc('evm_mine') // Anvil writes storage into the newest block's state: keep `before`'s apart
    const header = await mineWithCount(3n)
    chain.prefetchReads([countCall()], header)
    // Another call, another block: each is asked of the node, not answered with the prefetched 3.
    const other = await chain
      .readContract({
        address: carLoan,
        abi: carLoanAbi,
        functionName: 'getLoan',
        args: [999n],
        blockNumber: header.number,
      })
      .catch((e: unknown) => e)
    expect(other).toBeInstanceOf(Error)
    expect(await countAt(before.number)).toBe(1n)
    expect(await countAt(header.number)).toBe(3n)
    await setCount(1n)
    await rpc('evm_mine')
  })

  it('drops a block when a header of another fork is seen for it or its child, and on forget', () => {
    const cache = createReadCache({ window: 4 })
    const load = (answer: Hex) => () => Promise.resolve(answer)
    const h = (n: bigint, hash: string, parent: string) => ({
      number: n,
      hash: hash as Hex,
      parentHash: parent as Hex,
    })
    cache.noteHeader(h(10n, '0xa10', '0xa9'))
    cache.noteHeader(h(11n, '0xa11', '0xa10'))
    void cache.get(10n, '0x01', '0x02', load('0x10'))
    void cache.get(11n, '0x01', '0x02', load('0x11'))
    void cache.get(9n, '0x01', '0x02', load('0x09')) // no header seen for 9: not kept
    expect(cache.size()).toBe(2)
    cache.noteHeader(h(11n, '0xb11', '0xb10')) // 11 of another fork, whose parent is not our 10 either
    expect(cache.has(10n, '0x01', '0x02')).toBe(false)
    expect(cache.has(11n, '0x01', '0x02')).toBe(false)
    void cache.get(11n, '0x01', '0x02', load('0x11'))
    expect(cache.has(11n, '0x01', '0x02')).toBe(true)
    cache.forget(11n)
    expect(cache.size()).toBe(0)
    cache.noteHeader(h(16n, '0xa16', '0xa15')) // 11 falls out of the window
    expect(cache.holds(11n)).toBe(false)
  })
})
