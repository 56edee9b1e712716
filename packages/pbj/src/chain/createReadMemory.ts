import type { Address, Hex } from 'viem'

/** One `eth_call` as sent: the contract and the encoded call. */
export type ReadRef = { to: Address; data: Hex }

/**
 * The reads the last run of each key made; see {@link createReadMemory}. `T` is what a read is remembered
 * as: the `eth_call` sent (ReadRef), or the ctx call the function made (engine/createCallMemory's).
 */
export type ReadMemory<T = ReadRef> = {
  /** Notes that the current run of `key` (`runId`) read `read`; a new `runId` starts the key's list over. */
  record(key: string, runId: string, read: T): void
  /** The reads the last run of `key` made, or none. */
  recall(key: string): readonly T[]
  /** Keys remembered, for tests and metrics. */
  size(): number
}

/**
 * Remembers, per key (a function and what triggers it: a deadline's key, an event's contract and first
 * argument), the exact reads its last run made, so the next block that plans that key's run can ask for them
 * before the run starts (see prefetchReads). A guess, never an answer: a prefetched read only serves a run
 * that asks for the same `to`, `data` and block. Bounded: the `maxKeys` keys used last (a Map in insertion
 * order is the LRU) and `maxReads` reads per key, so a million loans cost a few MB at most.
 *
 * Reads are told apart by `same` (default: the same `to` and `data`).
 *
 * @example
 * memory.record('lockOnMissedPayment|timer:42', job.id, { to, data })
 * chain.prefetchReads(memory.recall('lockOnMissedPayment|timer:42'), header)
 */
export function createReadMemory<T = ReadRef>(
  options: { maxKeys?: number; maxReads?: number; same?: (a: T, b: T) => boolean } = {},
): ReadMemory<T> {
  const maxKeys = options.maxKeys ?? 4_096
  const maxReads = options.maxReads ?? 16
  const same = options.same ?? (sameCall as unknown as (a: T, b: T) => boolean)
  const entries = new Map<string, { runId: string; reads: T[] }>()
  return {
    record(key, runId, read) {
      let entry = entries.get(key)
      if (entry?.runId !== runId) {
        entry = { runId, reads: [] }
        entries.delete(key)
        entries.set(key, entry)
        if (entries.size > maxKeys) entries.delete(entries.keys().next().value as string)
      }
      const { reads } = entry
      if (reads.length >= maxReads) return
      if (reads.some((r) => same(r, read))) return
      reads.push(read)
    },
    recall: (key) => entries.get(key)?.reads ?? [],
    size: () => entries.size,
  }
}

const sameCall = (a: ReadRef, b: ReadRef) => a.data === b.data && a.to === b.to
