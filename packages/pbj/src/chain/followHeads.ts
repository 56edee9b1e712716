import { now } from '../internal/now.js'
import type { Store } from '../store/types.js'
import type { BlockHeader, ChainConnection } from './types.js'

/** Options of {@link followHeads}. */
export type FollowOptions = {
  chain: ChainConnection
  store: Store
  /** Processes one block and commits it with the cursor; called strictly in order. */
  onBlock(header: BlockHeader, receivedAt: number): Promise<void>
  /** Where to start on an empty store: 'latest' (default) or a block number. */
  startBlock?: 'latest' | number
  onWarning?(message: string): void
  onError?(error: unknown): void
}

/**
 * Follows the chain head. A pushed head is only a wake-up: blocks are processed one by one from the durable
 * cursor, gaps are filled by number, and each block's parent hash is checked against the cursor.
 * Returns a stop function that resolves when the block in progress is committed.
 *
 * @example
 * const stop = await followHeads({ chain, store, onBlock: (h) => processBlock(common, h) })
 */
export async function followHeads(options: FollowOptions): Promise<() => Promise<void>> {
  const { chain, store } = options
  let target: BlockHeader | null = null
  let running: Promise<void> | null = null
  let stopped = false

  const cursor = await store.getCursor(chain.chainId)
  let last: { number: bigint; hash: string } | null = cursor
  if (!last) {
    const start = options.startBlock ?? 'latest'
    const head = await chain.getHeader(start === 'latest' ? 'latest' : BigInt(Math.max(0, start - 1)))
    // Start after the current head: an empty store does not replay history unless startBlock says so.
    last = start === 'latest' ? head : { number: BigInt(start) - 1n, hash: head.hash }
    if (start === 'latest') target = head
  }

  const loop = async () => {
    while (!stopped && target && last && target.number > last.number) {
      const next: bigint = last.number + 1n
      const receivedAt = now()
      const header = target.number === next ? target : await chain.getHeader(next)
      if (header.parentHash !== last.hash) {
        options.onWarning?.(
          `Block ${next} does not link to the block pbj processed at ${last.number} (${last.hash}); a reorg happened. Continuing on the new chain.`,
        )
      }
      await options.onBlock(header, receivedAt)
      last = header
    }
  }

  const wake = (head: BlockHeader) => {
    if (!target || head.number >= target.number) target = head
    if (running) return
    running = loop()
      .catch((error) => options.onError?.(error))
      .finally(() => {
        running = null
        if (!stopped && target && last && target.number > last.number) wake(target)
      })
  }

  const unwatch = chain.watchHeads(wake, (error) => options.onError?.(error))
  // Catch up with blocks mined while pbj was down.
  wake(await chain.getHeader('latest'))
  return async () => {
    stopped = true
    unwatch()
    await running
  }
}
