import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { createChainConnection } from './createChainConnection.js'
import { followHeads } from './followHeads.js'
import type { PrefetchedLogs } from './pickPrefetchedLogs.js'
import { type AnvilNode, startAnvil } from './startAnvil.js'
import type { ChainConnection } from './types.js'

describe('followHeads on a real Anvil', () => {
  let anvil: AnvilNode
  let chain: ChainConnection
  beforeAll(async () => {
    anvil = await startAnvil()
    chain = await createChainConnection({ rpcUrl: anvil.rpcUrl })
  })
  afterAll(async () => {
    await chain?.close()
    await anvil?.stop()
  })

  it('marks as settled only the caught-up blocks at least maxReorgDepth below the head', async () => {
    const test = createTestClient({ transport: http(anvil.rpcUrl), mode: 'anvil' })
    await test.mine({ blocks: 10 })
    const head = (await chain.getHeader('latest')).number
    const store = createSqliteStore({ path: ':memory:' })
    const seen: { number: bigint; settled: boolean | undefined }[] = []
    let done: () => void = () => {}
    const reached = new Promise<void>((resolve) => {
      done = resolve
    })
    const stop = await followHeads({
      chain,
      store,
      startBlock: Number(head - 9n),
      maxReorgDepth: 4,
      // Any address: the range is fetched with logs (none), so each block comes with its prefetched part.
      addresses: () => ['0x0000000000000000000000000000000000000001'],
      async onBlock(header, _receivedAt, prefetched?: PrefetchedLogs) {
        seen.push({ number: header.number, settled: prefetched?.settled })
        await store.commitBlock(chain.chainId, {
          block: header,
          jobs: [],
          timersSet: [],
          timersCleared: [],
          conditions: [],
        })
        if (header.number === head) done()
      },
      onReorg: async () => {},
    })
    await reached
    await stop()
    await store.close()
    expect(seen.map((s) => s.number)).toEqual(Array.from({ length: 10 }, (_, i) => head - 9n + BigInt(i)))
    // head - 4 and older are a deep reorg away from the head; the last four blocks stay undoable.
    for (const s of seen) expect([s.number, s.settled]).toEqual([s.number, s.number + 4n <= head])
  })
})
