import { createPublicClient, createTestClient, createWalletClient, getAddress, type Hex, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBlockRangeFetcher } from './createBlockRangeFetcher.js'
import { createChainConnection } from './createChainConnection.js'
import { type AnvilNode, startAnvil } from './startAnvil.js'
import type { ChainConnection } from './types.js'

// Anvil's first default account.
const account = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
// A contract whose every call emits an empty LOG0: init code returning the runtime 0x60006000a000.
const emitterInitCode = '0x6560006000a0006000526006601af3'

describe('createBlockRangeFetcher on a real Anvil', () => {
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

  it('gives each block its logs from one range, and refuses them once a reorg replaced the block', async () => {
    const transport = http(anvil.rpcUrl)
    const pub = createPublicClient({ transport })
    const test = createTestClient({ transport, mode: 'anvil' })
    const wallet = createWalletClient({ transport, account })
    const deployed = await pub.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ data: emitterInitCode, gas: 200_000n, chain: null }),
    })
    const emitter = getAddress(deployed.contractAddress as string)
    const emit = async () =>
      pub.waitForTransactionReceipt({
        hash: await wallet.sendTransaction({ to: emitter, gas: 50_000n, chain: null }),
      })
    // Five blocks: a log in the 1st and 3rd.
    const first = (await emit()).blockNumber
    await test.mine({ blocks: 1 })
    await emit()
    await test.mine({ blocks: 2 })
    const last = first + 4n
    expect(await pub.getBlockNumber({ cacheTime: 0 })).toBe(last)

    const warnings: string[] = []
    const fetcher = createBlockRangeFetcher({ chain, logger: { warn: (w) => warnings.push(w) } })
    const range = await fetcher.fetch(first, last, [emitter])
    expect(range.headers.map((h) => h.number)).toEqual([
      first,
      first + 1n,
      first + 2n,
      first + 3n,
      first + 4n,
    ])
    for (const [i, h] of range.headers.entries())
      expect(h.parentHash).toBe(i === 0 ? h.parentHash : range.headers[i - 1]?.hash)
    expect(range.headers.map((h) => range.logsFor(h)?.length)).toEqual([1, 0, 1, 0, 0])
    expect(range.logsFor(range.headers[0] as never)?.[0]).toMatchObject({
      address: emitter.toLowerCase(),
      blockNumber: first,
    })

    // The five blocks are replaced: the new 2nd block has a log (the 1st and 3rd have none any more).
    // The reorg removes this account's two calls: the new chain's next nonce is the one before them.
    const nonce = await pub.getTransactionCount({ address: account.address, blockNumber: first - 1n })
    const tx = await wallet.signTransaction({
      to: emitter,
      gas: 50_000n,
      nonce,
      gasPrice: 10_000_000_000n,
      chainId: anvil.chainId,
      chain: null,
    })
    await test.request({ method: 'anvil_reorg', params: [5, [[tx as Hex, 1]]] } as never)
    const replaced = await Promise.all(range.headers.map((h) => chain.getHeader(h.number)))
    expect(replaced.map((h, i) => h.hash !== range.headers[i]?.hash)).toEqual([true, true, true, true, true])
    // Logs that name the old 1st and 3rd blocks are refused; the new 2nd block's bloom shows a log the range
    // did not have; the rest had none on either branch.
    expect(replaced.map((h) => range.logsFor(h)?.length ?? 'refetch')).toEqual([
      'refetch',
      'refetch',
      'refetch',
      0,
      0,
    ])
    expect(
      await chain.getLogs({ blockHash: (replaced[1] as { hash: Hex }).hash, addresses: [emitter] }),
    ).toHaveLength(1)
    expect(warnings).toEqual([])
  })

  it('asks for the ranges ahead while one is processed, uses them in order, and drops them when a call starts elsewhere', async () => {
    const transport = http(anvil.rpcUrl)
    const pub = createPublicClient({ transport })
    const wallet = createWalletClient({ transport, account })
    const deployed = await pub.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ data: emitterInitCode, gas: 200_000n, chain: null }),
    })
    const emitter = getAddress(deployed.contractAddress as string)
    // Eight blocks with one log each (automine: one block per transaction).
    const blocks: bigint[] = []
    for (let i = 0; i < 8; i++)
      blocks.push(
        (
          await pub.waitForTransactionReceipt({
            hash: await wallet.sendTransaction({ to: emitter, gas: 50_000n, chain: null }),
          })
        ).blockNumber,
      )
    const first = blocks[0] as bigint
    const last = blocks[7] as bigint
    expect(last - first).toBe(7n)
    // The real connection, with the ranges it is asked for written down.
    const asked: bigint[][] = []
    const watched: ChainConnection = {
      ...chain,
      getLogsInRange: (filter) => {
        asked.push([filter.fromBlock, filter.toBlock])
        return chain.getLogsInRange(filter)
      },
    }
    const fetcher = createBlockRangeFetcher({ chain: watched, maxSpan: 1, rangesAhead: 2 })
    const numbers = (range: { headers: { number: bigint }[] }) => range.headers.map((h) => h.number)
    const one = await fetcher.fetch(first, last, [emitter])
    expect(numbers(one)).toEqual([first])
    expect(one.logsFor(one.headers[0] as never)).toHaveLength(1)
    // The two ranges after it were asked for as soon as it came.
    expect(asked).toEqual([
      [first, first],
      [first + 1n, first + 1n],
      [first + 2n, first + 2n],
    ])
    const two = await fetcher.fetch(first + 1n, last, [emitter])
    expect(numbers(two)).toEqual([first + 1n])
    expect(two.logsFor(two.headers[0] as never)?.[0]?.blockNumber).toBe(first + 1n)
    // Used from those asked ahead; one more asked to keep two ahead.
    expect(asked.slice(3)).toEqual([[first + 3n, first + 3n]])
    // A call that starts elsewhere (a reorg, a failure) drops the ranges ahead and asks afresh.
    const far = await fetcher.fetch(first + 5n, last, [emitter])
    expect(numbers(far)).toEqual([first + 5n])
    expect(asked.slice(4)).toEqual([
      [first + 5n, first + 5n],
      [first + 6n, first + 6n],
      [first + 7n, first + 7n],
    ])
    // Nothing past the target is asked for.
    await fetcher.fetch(first + 6n, last, [emitter])
    await fetcher.fetch(first + 7n, last, [emitter])
    expect(asked).toHaveLength(7)

    // Ranges of more blocks than `rangesAhead`: one span's worth of blocks ahead, so at most that many
    // blocks are processed from a branch a reorg replaces before the follower sees the break.
    asked.length = 0
    const wide = createBlockRangeFetcher({ chain: watched, maxSpan: 3, rangesAhead: 2 })
    expect(numbers(await wide.fetch(first, last, [emitter]))).toEqual([first, first + 1n, first + 2n])
    expect(asked).toEqual([
      [first, first + 2n],
      [first + 3n, first + 5n],
    ])

    // Past the reorg window no reorg the follower handles can replace them: `rangesAhead` ranges, whatever
    // their span. A range ending 4 or more blocks below the target is settled here.
    asked.length = 0
    const deep = createBlockRangeFetcher({ chain: watched, maxSpan: 3, rangesAhead: 2, settledDepth: 4 })
    const target = last + 5n
    const settled = await deep.fetch(first, target, [emitter])
    expect(numbers(settled)).toEqual([first, first + 1n, first + 2n])
    expect(asked).toEqual([
      [first, first + 2n],
      [first + 3n, first + 5n],
      [first + 6n, first + 8n],
    ])
    // The next would end 1 block below the target, inside the window and past one span ahead: not asked.
    expect(numbers(await deep.fetch(first + 3n, target, [emitter]))).toEqual([
      first + 3n,
      first + 4n,
      first + 5n,
    ])
    expect(asked).toHaveLength(3)
  })
})
