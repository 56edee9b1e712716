import { parseAbi } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChainConnection } from '../chain/createChainConnection.js'
import { createReadMemory } from '../chain/createReadMemory.js'
import { installMulticall3 } from '../chain/installMulticall3.js'
import { multicall3Address } from '../chain/multicall3.js'
import { type AnvilNode, startAnvil } from '../chain/startAnvil.js'
import type { ChainConnection } from '../chain/types.js'
import type { Job } from '../core/job.js'
import { silentLogger } from '../internal/logger.js'
import { answerKeyOf } from '../runtime/answerKeyOf.js'
import { createHostApi } from './createHostApi.js'
import type { HostServices, RecordedCall } from './types.js'

let anvil: AnvilNode
let chain: ChainConnection
beforeAll(async () => {
  anvil = await startAnvil()
  await installMulticall3(anvil.rpcUrl)
  chain = await createChainConnection({ rpcUrl: anvil.rpcUrl })
})
afterAll(async () => {
  await chain?.close()
  await anvil?.stop()
})

const abi = parseAbi(['function getBlockNumber() view returns (uint256)'])
const read = (extra: Record<string, unknown> = {}) => [
  { contract: 'Multicall3', abi, functionName: 'getBlockNumber', ...extra },
]

/** A `blocks` job of `tick` at `blockNumber`: the same prefetch key at every block. */
const jobAt = (blockNumber: bigint) =>
  ({
    id: `31337:0x${blockNumber.toString(16)}:blocks:tick`,
    functionName: 'tick',
    entry: 'handler',
    input: '{}',
    blockNumber,
  }) as Job

describe('createHostApi answers', () => {
  it("answers, before the next run of the same key, the reads the last one made at its block, at the new run's block", async () => {
    const services = {
      chain,
      contracts: { Multicall3: multicall3Address },
      functions: new Map(),
      logger: silentLogger,
      callMemory: createReadMemory<RecordedCall>({ same: (a, b) => a.key === b.key }),
    } as unknown as HostServices
    const mine = () =>
      fetch(anvil.rpcUrl, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"evm_mine"}' })
    await mine()
    const first = await chain.getHeader('latest')
    const before = createHostApi(services, jobAt(first.number))
    expect(before.answers()).toBeUndefined()
    expect(await before.call('chain.read', read())).toBe(first.number)
    // At `latest`: it changes from one moment to the next, so it is never answered ahead.
    await before.call('chain.read', read({ blockNumber: 'latest' }))

    await mine()
    const next = await chain.getHeader('latest')
    let starts = 0
    const after = createHostApi(services, jobAt(next.number), async () => {
      starts++
    })
    const answers = await after.answers()
    expect(answers).toEqual([[answerKeyOf(read()), next.number]])
    // The run's start is written meanwhile: the run will most likely call the host again.
    expect(starts).toBe(1)
    // The same value the run would get by asking.
    expect(await after.call('chain.read', read())).toBe(next.number)
  })
})
