import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cursor } from '../core/block.js'
import { DeepReorgError } from '../internal/errors.js'
import { createChainConnection } from './createChainConnection.js'
import { findCommonAncestor } from './findCommonAncestor.js'
import { type AnvilNode, startAnvil } from './startAnvil.js'
import type { ChainConnection } from './types.js'

describe('findCommonAncestor', () => {
  let anvil: AnvilNode
  let chain: ChainConnection
  const seen = new Map<bigint, string>()
  let head: Cursor
  beforeAll(async () => {
    anvil = await startAnvil()
    chain = await createChainConnection({ rpcUrl: anvil.rpcUrl })
    await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: 6 })
    for (let n = 0n; n <= 6n; n++) {
      const h = await chain.getHeader(n)
      seen.set(n, h.hash)
      head = h
    }
  })
  afterAll(async () => {
    await chain?.close()
    await anvil?.stop()
  })
  const hashAt = async (n: bigint) => seen.get(n) ?? null

  it("answers 'lagging' for a node that does not have pbj's head yet, instead of rolling back", async () => {
    // A node behind the chain: it serves nothing above block 3.
    const lagging: ChainConnection = {
      ...chain,
      getHeader: async (block) => {
        if (block === 'latest' || block > 3n) throw new Error('block not found')
        return chain.getHeader(block)
      },
    }
    expect(await findCommonAncestor({ chain: lagging, hashAt, from: 5n, maxDepth: 250, ourHead: head })).toBe(
      'lagging',
    )
  })

  it('finds the newest shared block after a real reorg', async () => {
    await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).request({
      method: 'anvil_reorg',
      params: [2, []],
    } as never)
    const ancestor = await findCommonAncestor({ chain, hashAt, from: 6n, maxDepth: 250, ourHead: head })
    expect(ancestor).toMatchObject({ number: 4n, hash: seen.get(4n) })
  })

  it('refuses a reorg deeper than its window', async () => {
    const error = await findCommonAncestor({ chain, hashAt, from: 6n, maxDepth: 1, ourHead: head }).catch(
      (e) => e,
    )
    expect(error).toBeInstanceOf(DeepReorgError)
    expect(error.hint).toContain('rpcUrl')
    // the oldest block of the window it compared: where the follower resumes from the new chain
    expect(error.oldestKept).toBe(5n)
  })

  it('resumes at the window’s depth when the block that showed the reorg is below the window', async () => {
    // a stale head at 4 showed the node's chain differs from 4 on: the fork is below the 1-block window
    const error = await findCommonAncestor({ chain, hashAt, from: 3n, maxDepth: 1, ourHead: head }).catch(
      (e) => e,
    )
    expect(error).toBeInstanceOf(DeepReorgError)
    expect(error.oldestKept).toBe(5n)
  })
})
