import type { Address, Log } from 'viem'

/** Logs fetched ahead for a block (by catch-up, over a range), with the contracts they were fetched for. */
export type PrefetchedLogs = {
  addresses: readonly Address[]
  logs: readonly Log[]
  /**
   * The block is at least `maxReorgDepth` below the head catch-up is heading for: a reorg that reaches it is
   * a deep one, which no undo record serves (see BlockWrite.undo).
   */
  settled?: boolean
}

/**
 * The block's logs of `addresses` out of logs fetched ahead, or null when they were fetched for fewer
 * contracts (functions reloaded meanwhile) and must be fetched again.
 *
 * @example
 * const logs = pickPrefetchedLogs(prefetched, index.addresses) ?? (await chain.getLogs({ blockHash, addresses }))
 */
export function pickPrefetchedLogs(
  prefetched: PrefetchedLogs | undefined,
  addresses: readonly Address[],
): Log[] | null {
  if (!prefetched) return null
  const fetched = new Set(prefetched.addresses.map((a) => a.toLowerCase()))
  const wanted = new Set(addresses.map((a) => a.toLowerCase()))
  for (const a of wanted) if (!fetched.has(a)) return null
  return prefetched.logs.filter((l) => wanted.has(l.address.toLowerCase()))
}
