import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChainConnection } from '../chain/createChainConnection.js'
import { type AnvilNode, startAnvil } from '../chain/startAnvil.js'
import type { ChainConnection } from '../chain/types.js'
import type { BlockHeader } from '../core/block.js'
import type { EngineEvents } from '../core/engineEvents.js'
import { createEmitter } from '../internal/createEmitter.js'
import { createHealth } from '../internal/health.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { watchLag } from './watchLag.js'

/** Polls `condition` every 20 ms for at most 3 s. */
async function until(condition: () => boolean, what: string) {
  const deadline = Date.now() + 3_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not within 3 s`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('watchLag (real Anvil, real store)', () => {
  let anvil: AnvilNode
  let chain: ChainConnection
  beforeAll(async () => {
    anvil = await startAnvil()
    chain = await createChainConnection({ rpcUrl: anvil.rpcUrl })
  }, 30_000)
  afterAll(async () => {
    await chain?.close()
    await anvil?.stop()
  })

  it('fails `lag` while the processed block is more than readyLagBlocks behind the head, and clears it', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const events = createEmitter<EngineEvents>()
    const health = createHealth()
    const commit = async (header: BlockHeader) => {
      await store.commitBlock(chain.chainId, {
        block: header,
        jobs: [],
        timersSet: [],
        timersCleared: [],
        conditions: [],
      })
      events.emit('block', { ...header, jobs: 0, receivedAt: 0, committedAt: 0 })
    }
    await commit(await chain.getHeader(0n))
    await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: ['0x8'] }),
    })
    const head = await chain.getHeader('latest')
    expect(head.number).toBeGreaterThanOrEqual(8n)
    const stop = watchLag({ health, chain, store, events }, { readyLagBlocks: 5, startBlock: 0 })
    try {
      await until(() => health.report().checks.lag !== undefined, 'a lag check')
      expect(health.report().checks.lag).toMatchObject({
        ok: false,
        detail: `${head.number} blocks behind the node's head ${head.number} (ready within 5)`,
      })
      // Within 5 blocks: ok. The block event re-checks at once, without waiting for the interval.
      await commit(await chain.getHeader(head.number - 5n))
      await until(() => health.report().checks.lag?.ok === true, 'lag ok')
      expect(health.report().ready).toBe(true)
    } finally {
      stop()
      await store.close()
    }
  })

  it('counts an empty store starting at the head as caught up', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const health = createHealth()
    const stop = watchLag(
      { health, chain, store, events: createEmitter<EngineEvents>() },
      { readyLagBlocks: 0, startBlock: 'latest' },
    )
    try {
      await until(() => health.report().checks.lag?.ok === true, 'lag ok')
    } finally {
      stop()
      await store.close()
    }
  })
})
