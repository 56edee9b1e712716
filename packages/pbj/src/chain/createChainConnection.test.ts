import {
  type Address,
  type BaseError,
  createPublicClient,
  createTestClient,
  decodeFunctionResult,
  encodeFunctionData,
  getContractError,
  http,
  parseAbi,
} from 'viem'
import { getCallError } from 'viem/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BlockHeader } from '../core/block.js'
import { RpcError } from '../internal/errors.js'
import { getFreePort } from '../internal/freePort.js'
import { createChainConnection } from './createChainConnection.js'
import { installMulticall3 } from './installMulticall3.js'
import { type AnvilNode, startAnvil } from './startAnvil.js'

describe('createChainConnection', () => {
  let anvil: AnvilNode
  beforeAll(async () => {
    anvil = await startAnvil()
  })
  afterAll(async () => anvil?.stop())

  it('pushes new heads over WebSocket and links them by parent hash', async () => {
    const chain = await createChainConnection({ rpcUrl: [anvil.wsUrl, anvil.rpcUrl] })
    const heads: BlockHeader[] = []
    const unwatch = await chain.watchHeads(
      (h) => heads.push(h),
      (e) => expect.fail(String(e)),
    )
    await new Promise((r) => setTimeout(r, 100))
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
    await test.mine({ blocks: 1 })
    await test.mine({ blocks: 1 })
    await expect.poll(() => heads.length).toBe(2)
    const [a, b] = heads as [BlockHeader, BlockHeader]
    expect(b.number).toBe(a.number + 1n)
    expect(b.parentHash).toBe(a.hash)
    expect(await chain.getHeader(b.number)).toEqual(b)
    unwatch()
    await chain.close()
  })

  it('falls back to the next URL when the first one is down', async () => {
    const dead = `http://127.0.0.1:${await getFreePort()}`
    const chain = await createChainConnection({ rpcUrl: [dead, anvil.rpcUrl] })
    expect(chain.chainId).toBe(anvil.chainId)
    expect((await chain.getHeader('latest')).number).toBeGreaterThanOrEqual(0n)
    await chain.close()
  })

  it("reads as viem's readContract reads, batched or alone: the same values, and the same errors", async () => {
    await installMulticall3(anvil.rpcUrl)
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
    // Contracts that answer every call with one word (PUSH32 word, MSTORE at 0, RETURN 32 bytes), one that
    // reverts with nothing, and an address without code.
    const returning = (word: string): `0x${string}` => `0x7f${word}60005260206000f3`
    const one = '0000000000000000000000000000000000000000000000000000000000000001'
    const big = `${'0'.repeat(24)}${'c0ffee'.repeat(6)}beef`
    const at = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as Address
    await test.setCode({ address: at(0xa1), bytecode: returning(one) })
    await test.setCode({ address: at(0xa2), bytecode: returning(big) })
    await test.setCode({ address: at(0xa3), bytecode: '0x60006000fd' })
    // Two blocks with that code: the newer one's reads are cached and batched, the older one's sent alone.
    await test.mine({ blocks: 2 })
    const abi = parseAbi([
      'function a() view returns (address)',
      'function u() view returns (uint256)',
      'function s() view returns (uint8)',
      'function b() view returns (bool)',
      'function t() view returns ((address who, uint64 when))',
      'function x() view returns (bytes32, int256)',
      'function d() view returns (string)',
    ])
    const viem = createPublicClient({ transport: http(anvil.rpcUrl) })
    const chain = await createChainConnection({ rpcUrl: anvil.wsUrl })
    const blockNumber = (await chain.getHeader('latest')).number
    const calls = [at(0xa1), at(0xa2), at(0xa3), at(0xa4)].flatMap((address) =>
      (['a', 'u', 's', 'b', 't', 'x', 'd'] as const).map((functionName) => ({ address, abi, functionName })),
    )
    const settle = (p: Promise<unknown>) =>
      p.then(
        (value) => ({ value }),
        (e: BaseError & { cause?: Error }) => ({
          error: [e.name, e.shortMessage, e.cause?.name, e.walk().name],
        }),
      )
    // viem's readContract, but for an answer that does not decode: pbj has always reported that as a call
    // error (getCallError) before the contract error; what the node says is viem's own error.
    const reference = async (c: (typeof calls)[number], blockNumber: bigint) => {
      const data = encodeFunctionData({ abi: c.abi, functionName: c.functionName })
      const answer = await viem.call({ to: c.address, data, blockNumber }).catch(() => null)
      if (!answer) return viem.readContract({ ...c, blockNumber })
      try {
        return decodeFunctionResult({ abi: c.abi, functionName: c.functionName, data: answer.data ?? '0x' })
      } catch (error) {
        throw getContractError(getCallError(error as BaseError, { to: c.address, data }), {
          abi: c.abi,
          address: c.address,
          args: [],
          docsPath: '/docs/contract/readContract',
          functionName: c.functionName,
        })
      }
    }
    const expected = await Promise.all(calls.map((c) => settle(reference(c, blockNumber))))
    // All in one tick: one multicall; one at a time: each alone.
    const batched = await Promise.all(calls.map((c) => settle(chain.readContract({ ...c, blockNumber }))))
    const alone = []
    for (const c of calls)
      alone.push(await settle(chain.readContract({ ...c, blockNumber: blockNumber - 1n })))
    expect(batched).toStrictEqual(expected)
    expect(alone).toStrictEqual(await Promise.all(calls.map((c) => settle(reference(c, blockNumber - 1n)))))
    expect(batched.filter((r) => 'value' in r).length).toBeGreaterThanOrEqual(6)
    expect(batched.filter((r) => 'error' in r).length).toBeGreaterThan(8)
    await chain.close()
  })

  it('names the URL when the chain cannot be reached', async () => {
    const dead = `http://127.0.0.1:${await getFreePort()}`
    const error = await createChainConnection({ rpcUrl: dead }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect((error as RpcError).shortMessage).toContain(dead)
    expect((error as RpcError).hint).toContain('rpcUrl')
  })
})
