import type { Hex } from 'viem'

/** The parts of a header the cache checks a block's identity with. */
export type CachedBlockId = { number: bigint; hash: Hex; parentHash: Hex }

/** Per-block answers of `eth_call`s, shared by every reader of the block; see {@link createReadCache}. */
export type ReadCache = {
  /**
   * The answer of `to`/`data` at `block`: the one already asked for (answered or in flight), else `load()`'s,
   * kept for the next reader. A block whose header the cache has not been shown is not cached (its hash,
   * hence which fork would answer, is unknown): `load()` every time.
   */
  get(block: bigint, to: Hex, data: Hex, load: () => Promise<Hex>): Promise<Hex>
  /** Whether `to`/`data` at `block` is cached (answered or in flight). */
  has(block: bigint, to: Hex, data: Hex): boolean
  /** Whether reads at `block` are cached: its header was noted and it is in the window. */
  holds(block: bigint): boolean
  /**
   * A header the connection saw. A new number opens its block (and drops those that fell out of the
   * window); a hash that differs from the one a cached block (or the parent) was opened with means the
   * node switched forks: that block and every later one are dropped, so a replaced block's answer is
   * never served.
   */
  noteHeader(header: CachedBlockId): void
  /** Drops the answers of `fromBlock` and later (all without it): a reorg rolled back past them. */
  forget(fromBlock?: bigint): void
  /** Cached answers, for tests and metrics. */
  size(): number
}

/**
 * A read cache keyed by block number + `to` + `data`, holding the promise, so the identical reads of one
 * block — a thousand runs of one function, a run and the guard of its command, a prefetch and the run it
 * was made for — cost the node one call between them and no second round trip. Only the newest `window`
 * block numbers are kept, at most `maxPerBlock` answers each (the rest go to the node uncached), so memory
 * is bounded whatever the fleet. A failed read is not kept: the next reader asks again. Safety rests on
 * {@link ReadCache.noteHeader}: a block is cached only under the hash its header had, and is dropped as
 * soon as a header of another fork is seen for it or for its child.
 *
 * @example
 * const cache = createReadCache()
 * cache.noteHeader(header)
 * const raw = await cache.get(header.number, to, data, () => request('eth_call', [{ to, data }, hex(header.number)]))
 */
export function createReadCache(options: { window?: number; maxPerBlock?: number } = {}): ReadCache {
  const window = BigInt(options.window ?? 8)
  const maxPerBlock = options.maxPerBlock ?? 50_000
  const blocks = new Map<bigint, { hash: Hex; reads: Map<string, Promise<Hex>> }>()
  let newest = -1n
  const keyOf = (to: Hex, data: Hex) => `${to.toLowerCase()}${data}`

  const forget = (fromBlock?: bigint) => {
    if (fromBlock === undefined) return blocks.clear()
    for (const n of [...blocks.keys()]) if (n >= fromBlock) blocks.delete(n)
  }

  return {
    get(block, to, data, load) {
      const reads = blocks.get(block)?.reads
      if (!reads) return load()
      const key = keyOf(to, data)
      const cached = reads.get(key)
      if (cached) return cached
      const answer = load()
      if (reads.size >= maxPerBlock) return answer
      reads.set(key, answer)
      answer.catch(() => {
        if (reads.get(key) === answer) reads.delete(key)
      })
      return answer
    },
    has: (block, to, data) => blocks.get(block)?.reads.has(keyOf(to, data)) ?? false,
    holds: (block) => blocks.has(block),
    noteHeader(header) {
      const known = blocks.get(header.number)
      if (known && known.hash !== header.hash) forget(header.number)
      const parent = blocks.get(header.number - 1n)
      if (parent && parent.hash !== header.parentHash) forget(header.number - 1n)
      if (header.number > newest) {
        newest = header.number
        for (const n of [...blocks.keys()]) if (n <= newest - window) blocks.delete(n)
      }
      if (header.number > newest - window && !blocks.has(header.number))
        blocks.set(header.number, { hash: header.hash, reads: new Map() })
    },
    forget,
    size: () => {
      let total = 0
      for (const b of blocks.values()) total += b.reads.size
      return total
    },
  }
}
