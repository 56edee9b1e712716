import type { ChainConnection } from '../../chain/types.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import type { Store } from '../../core/store.js'
import type { Emitter } from '../../internal/createEmitter.js'

/**
 * Timestamps of blocks, for the `chainTime` of device commands. See {@link createBlockTimes}.
 *
 * @example
 * const chainTime = await blockTimes.timeOf(device.desiredBlock)
 */
export type BlockTimes = {
  /** Unix seconds of the block, or of the latest processed block when `blockNumber` is null. */
  timeOf(blockNumber: bigint | null): Promise<number>
  close(): void
}

/**
 * Knows the timestamp of the blocks that cause device commands without a round trip in the hot path: it
 * remembers the last 1,024 blocks the engine processed (from its `block` events, emitted before their runs
 * start); an older block (a command re-published after a restart) is read from the chain, and if the chain
 * is unreachable the latest processed block's time stands in, since a command must not wait on the RPC.
 *
 * @example
 * const blockTimes = createBlockTimes({ chain, store, events })
 * await blockTimes.timeOf(12n) // 1760000000
 */
export function createBlockTimes(options: {
  chain: Pick<ChainConnection, 'chainId' | 'getHeader'>
  store: Pick<Store, 'getCursor'>
  events: Pick<Emitter<Pick<EngineEvents, 'block'>>, 'on'>
}): BlockTimes {
  const { chain, store } = options
  const known = new Map<bigint, number>()
  let latest: number | undefined
  const off = options.events.on('block', (block) => {
    const time = Number(block.timestamp)
    known.set(block.number, time)
    latest = time
    // A Map iterates in insertion order: the first key is the oldest.
    if (known.size > 1_024) known.delete(known.keys().next().value as bigint)
  })
  const latestTime = async () =>
    latest ??
    Number((await store.getCursor(chain.chainId))?.timestamp ?? BigInt(Math.floor(Date.now() / 1000)))
  return {
    async timeOf(blockNumber) {
      if (blockNumber === null) return latestTime()
      const time = known.get(blockNumber)
      if (time !== undefined) return time
      try {
        const header = await chain.getHeader(blockNumber)
        known.set(blockNumber, Number(header.timestamp))
        return Number(header.timestamp)
      } catch {
        return latestTime()
      }
    },
    close: () => off(),
  }
}
