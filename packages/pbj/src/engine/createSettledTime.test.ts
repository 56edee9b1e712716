import { describe, expect, it } from 'vitest'
import { createSettledTime } from './createSettledTime.js'

/** A chain the numeric path must never ask: each call is counted. */
function unusedChain() {
  const calls: string[] = []
  return {
    calls,
    chain: {
      getFinalizedNumber: async () => {
        calls.push('finalized')
        return null
      },
      getHeader: async () => {
        calls.push('header')
        throw new Error('not read')
      },
    },
  }
}

const block = (n: number) => ({ number: BigInt(n), timestamp: BigInt(1_000 + 12 * n) })

describe('createSettledTime', () => {
  it('is the block as many back as the deepest confirmations, without a round trip', async () => {
    const { chain, calls } = unusedChain()
    const confirmations = new Map<string, number | 'finalized'>([
      ['lock', 3],
      ['warn', 1],
    ])
    const settledTime = createSettledTime({ chain, index: { confirmations, usesFinalized: false } })
    expect(await settledTime(block(100), () => true)).toBeNull() // block 97 never seen
    await settledTime(block(101), () => true)
    await settledTime(block(102), () => true)
    expect(await settledTime(block(103), () => true)).toEqual(block(100))
    // after a reorg the replaced blocks' new times count, the old chain's later ones are forgotten
    expect(await settledTime({ number: 102n, timestamp: 5n }, () => true)).toBeNull()
    expect(calls).toEqual([])
  })

  it("is the block before when every function runs at once (a deadline block's reply lands in the next)", async () => {
    const { chain } = unusedChain()
    const settledTime = createSettledTime({
      chain,
      index: { confirmations: new Map(), usesFinalized: false },
    })
    expect(await settledTime(block(7), () => true)).toBeNull()
    expect(await settledTime(block(8), () => true)).toEqual(block(7))
  })

  it('with a finalized function, asks the node only when a re-check may be due', async () => {
    const { chain, calls } = unusedChain()
    const confirmations = new Map<string, number | 'finalized'>([['lock', 'finalized']])
    const settledTime = createSettledTime({ chain, index: { confirmations, usesFinalized: true } })
    await settledTime(block(4), () => false)
    expect(await settledTime(block(5), () => false)).toEqual(block(4))
    expect(calls).toEqual([])
    // a node with no finalized block does not hold it back
    expect(await settledTime(block(6), () => true)).toEqual(block(5))
    expect(calls).toEqual(['finalized'])
  })
})
