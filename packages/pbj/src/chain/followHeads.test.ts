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

  it('handles a reorg that reaches a settled block as a deep one, never rolling back past the undo records', async () => {
    const test = createTestClient({ transport: http(anvil.rpcUrl), mode: 'anvil' })
    const start = (await chain.getHeader('latest')).number
    const snapshot = await test.snapshot()
    await test.mine({ blocks: 10, interval: 1 })
    const head = start + 10n
    const store = createSqliteStore({ path: ':memory:' })
    const reorgs: bigint[] = []
    const deep: { resumeAt: bigint; lost: { from: bigint; to: bigint } }[] = []
    let replaced = false
    let done: () => void = () => {}
    const reached = new Promise<void>((resolve) => {
      done = resolve
    })
    const stop = await followHeads({
      chain,
      store,
      startBlock: Number(start),
      maxReorgDepth: 4,
      maxLogsRange: 2,
      pollIntervalMs: 100,
      addresses: () => ['0x0000000000000000000000000000000000000001'],
      async onBlock(header, _receivedAt, prefetched?: PrefetchedLogs) {
        // Blocks start…start + 6 are settled (4 below head start + 10): no undo record, no hash kept.
        if (header.number === start + 3n && !replaced) {
          // The node switches to another chain forking after `start` (a reorg ~10 deep from its head).
          replaced = true
          await test.revert({ id: snapshot })
          await test.mine({ blocks: 12, interval: 7 })
        }
        await store.commitBlock(chain.chainId, {
          block: header,
          jobs: [],
          timersSet: [],
          timersCleared: [],
          conditions: [],
          ...(prefetched?.settled ? { undo: false } : {}),
        })
        if (replaced && header.number >= start + 12n) done()
      },
      async onReorg(ancestor) {
        reorgs.push(ancestor.number)
        await store.rollback(chain.chainId, ancestor, [])
      },
      async onDeepReorg(resumeAt, lost) {
        deep.push({ resumeAt: resumeAt.number, lost })
        await store.rollback(chain.chainId, resumeAt, [])
      },
    })
    await reached
    await stop()
    await store.close()
    // The node's new chain shows up once block start + 3 (settled, pbj's cursor then) is committed. Rolling
    // back to `start`, the block both chains share, would pass over settled blocks whose timers have no undo
    // record: it is a deep reorg instead, resuming at pbj's cursor height (what settled blocks did stays done).
    // Settled ranges are asked for ahead (past the window no reorg the follower handles replaces them), so
    // the old chain's start + 5 and start + 6, asked for before the switch, may be processed first.
    expect(reorgs.filter((n) => n < start + 3n)).toEqual([])
    expect(deep).toHaveLength(1)
    expect([start + 3n, start + 5n]).toContain(deep[0]?.resumeAt)
    expect(head).toBe(start + 10n)
  })
})
