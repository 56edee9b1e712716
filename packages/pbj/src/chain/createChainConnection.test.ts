import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BlockHeader } from '../core/block.js'
import { RpcError } from '../internal/errors.js'
import { getFreePort } from '../internal/freePort.js'
import { createChainConnection } from './createChainConnection.js'
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

  it('names the URL when the chain cannot be reached', async () => {
    const dead = `http://127.0.0.1:${await getFreePort()}`
    const error = await createChainConnection({ rpcUrl: dead }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect((error as RpcError).shortMessage).toContain(dead)
    expect((error as RpcError).hint).toContain('rpcUrl')
  })
})
