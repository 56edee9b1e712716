import {
  type Address,
  encodeAbiParameters,
  encodeEventTopics,
  type Hex,
  type Log,
  numberToHex,
  pad,
} from 'viem'
import type { BlockHeader } from '#pbj/core/block.js'

/** The event the benchmark's function listens to: what a busy contract emits many times per block. */
export const pingAbi = [
  {
    type: 'event',
    name: 'Ping',
    anonymous: false,
    inputs: [
      { name: 'id', type: 'uint256', indexed: true },
      { name: 'amount', type: 'uint256', indexed: false },
    ],
  },
] as const

/**
 * A block header and `count` `Ping(id, amount)` logs of `address` in it, as an RPC returns them (ABI
 * encoded topics and data, lowercase address), for handing to processBlock as prefetched logs.
 *
 * @example
 * const { header, logs } = syntheticBlock({ number: 2n, address, count: 5_000 })
 */
export function syntheticBlock(options: { number: bigint; address: Address; count: number }): {
  header: BlockHeader
  logs: Log[]
} {
  const hashOf = (n: bigint) => pad(numberToHex(n), { size: 32 }) as Hex
  const header: BlockHeader = {
    number: options.number,
    hash: hashOf(options.number + 0xb10c_0000n),
    parentHash: hashOf(options.number - 1n + 0xb10c_0000n),
    timestamp: 1_700_000_000n + options.number,
  }
  const transactionHash = hashOf(options.number + 0x7a_0000n)
  const logs: Log[] = []
  for (let i = 0; i < options.count; i++) {
    const topics = encodeEventTopics({ abi: pingAbi, eventName: 'Ping', args: { id: BigInt(i) } })
    const data = encodeAbiParameters([{ type: 'uint256' }], [BigInt(i) * 1_000n])
    logs.push({
      address: options.address.toLowerCase() as Address,
      topics: topics as [Hex, ...Hex[]],
      data,
      blockHash: header.hash,
      blockNumber: header.number,
      logIndex: i,
      transactionHash,
      transactionIndex: 0,
      removed: false,
    })
  }
  return { header, logs }
}
