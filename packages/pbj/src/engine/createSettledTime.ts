import type { ChainConnection } from '../chain/types.js'
import type { TriggerIndex } from '../triggers/createTriggerIndex.js'

/** What {@link createSettledTime} reads: the chain (finality) and the functions' confirmation settings. */
export type SettledTimeServices = {
  chain: Pick<ChainConnection, 'getFinalizedNumber' | 'getHeader'>
  readonly index: Pick<TriggerIndex, 'confirmations' | 'usesFinalized'>
}

/**
 * The chain time the functions have accepted, for the reconciler's scheduled re-checks: the number and
 * timestamp of the newest block every function's confirmation mode lets run — `{ confirmations: n }` waits n blocks, so
 * with n = 3 at block 103 that is block 100's time, and at least the block before the newest (a deadline
 * block's reply, e.g. the autopay a due date set off, lands in the next); `finalized` also waits for the node's finalized block
 * (read only when `mayBeDue` says a re-check could be due, so most blocks cost no round trip; a node with
 * no finalized block does not hold it back). Without it a re-check at the head would act before a function
 * that waits for confirmations, and lock a car for a deadline block a short reorg then removes. Null while
 * the block that many back has not been seen (just started, or rolled back).
 *
 * @example
 * const settledTime = createSettledTime(blockServices)
 * const settled = await settledTime(block, () => true) // block 100 (number, timestamp) at block 103 with 3 confirmations
 */
export function createSettledTime(
  services: SettledTimeServices,
): (
  block: { number: bigint; timestamp: bigint },
  mayBeDue: () => boolean,
) => Promise<{ number: bigint; timestamp: bigint } | null> {
  const times = new Map<bigint, bigint>()
  return async (block, mayBeDue) => {
    times.set(block.number, block.timestamp)
    let depth = 0
    for (const c of services.index.confirmations.values()) if (typeof c === 'number' && c > depth) depth = c
    // At least the block before: a deadline's own block may hold a function's reply (e.g. an autopay)
    // that lands in the next one.
    const settled = block.number - BigInt(Math.max(depth, 1))
    for (const n of times.keys()) if (n < settled || n > block.number) times.delete(n)
    const time = times.get(settled)
    if (time === undefined) return null
    if (!services.index.usesFinalized || !mayBeDue()) return { number: settled, timestamp: time }
    const finalized = await services.chain.getFinalizedNumber()
    if (finalized === null || finalized >= settled) return { number: settled, timestamp: time }
    const header = await services.chain.getHeader(finalized)
    return { number: finalized, timestamp: header.timestamp }
  }
}
