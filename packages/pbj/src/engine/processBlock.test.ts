import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir } from '../../../../test/fixtures/testFunctions.js'
import { createChainConnection } from '../chain/createChainConnection.js'
import { type AnvilNode, startAnvil } from '../chain/startAnvil.js'
import type { ChainConnection } from '../chain/types.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Job } from '../core/job.js'
import { createEmitter } from '../internal/createEmitter.js'
import { parseJson } from '../internal/json.js'
import { silentLogger } from '../internal/logger.js'
import { createMemoryQueue } from '../queue/createMemoryQueue.js'
import { loadFunction } from '../runtime/loadFunction.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { createTriggerIndex } from '../triggers/createTriggerIndex.js'
import { type BlockServices, processBlock } from './processBlock.js'

const dir = makeFunctionsDir()
let anvil: AnvilNode
let chain: ChainConnection
beforeAll(async () => {
  anvil = await startAnvil()
  chain = await createChainConnection({ rpcUrl: anvil.rpcUrl })
})
afterAll(async () => {
  dir.remove()
  await chain?.close()
  await anvil?.stop()
})

describe('processBlock', () => {
  it('commits a block’s jobs with the cursor, queues the ready ones, and releases confirmed ones blocks later', async () => {
    const functions = [
      await loadFunction(
        dir.write(
          'tick',
          "export default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler() {} })",
        ),
      ),
      await loadFunction(
        dir.write(
          'sure',
          "export default defineFunction({ trigger: { type: 'blocks', every: 1, confirmation: { confirmations: 2 } }, handler() {} })",
        ),
      ),
    ]
    const store = createSqliteStore({ path: ':memory:' })
    const queue = createMemoryQueue()
    const events = createEmitter<EngineEvents>()
    const services: BlockServices = {
      common: {
        options: {
          chainId: anvil.chainId,
          contracts: {},
          secrets: {},
          limits: { timeoutMs: 1000, memoryMb: 64, kvValueBytes: 1024, kvTotalBytes: 1024 },
          retry: { maxAttempts: 8, backoffMs: 200, maxBackoffMs: 30_000, on: 'faults' },
        },
        logger: silentLogger,
      },
      chain,
      store,
      queue,
      events,
      index: createTriggerIndex(functions, {}),
    }
    const queued: Job[] = []
    queue.start(async (job) => void queued.push(job))
    const blocks: EngineEvents['block'][] = []
    events.on('block', (b) => blocks.push(b))
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
    const processNext = async () => {
      await test.mine({ blocks: 1 })
      const header = await chain.getHeader('latest')
      await processBlock(services, header, Date.now())
      await queue.idle()
      return header
    }
    try {
      const first = await processNext()
      expect(await store.getCursor(anvil.chainId)).toEqual({
        number: first.number,
        hash: first.hash,
        parentHash: first.parentHash,
        timestamp: first.timestamp,
      })
      // Only `tick` runs at once; `sure` waits in the store for two blocks on top of its own.
      expect(queued.map((j) => [j.functionName, j.blockNumber])).toEqual([['tick', first.number]])
      const input = parseJson<{ block: { number: bigint; hash: string } }>(queued[0]?.input ?? '')
      expect(input.block).toMatchObject({ number: first.number, hash: first.hash })
      expect(blocks).toEqual([expect.objectContaining({ number: first.number, hash: first.hash, jobs: 1 })])
      expect((await store.listJobs({ status: ['waiting'] })).map((j) => j.functionName)).toEqual(['sure'])

      await processNext()
      expect(queued.filter((j) => j.functionName === 'sure')).toEqual([])
      const third = await processNext()
      // The third block completes the first block's confirmations: its `sure` job is released first.
      expect(queued.slice(-2).map((j) => [j.functionName, j.blockNumber])).toEqual([
        ['sure', first.number],
        ['tick', third.number],
      ])
      expect(blocks.map((b) => b.jobs)).toEqual([1, 1, 1])
    } finally {
      await queue.close()
      await store.close()
    }
  })
})
