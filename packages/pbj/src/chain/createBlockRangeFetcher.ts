import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { sleep } from '@pbj/internal/sleep.js'
import type { Address, Log } from 'viem'
import type { BlockHeader } from '../core/block.js'
import { walk } from '../internal/errors.js'
import type { Logger } from '../internal/logger.js'
import { bloomMayContain } from './bloomMayContain.js'
import { classifyRpcError } from './classifyRpcError.js'
import { parseLogRangeError } from './parseLogRangeError.js'
import type { ChainConnection } from './types.js'

/** The span of the first eth_getLogs, before the answers say how busy the blocks are. */
const firstSpan = 10n

/** A stretch of blocks fetched for catch-up. */
export type BlockRange = {
  /** Headers in order, from the range's first block (up to where one could not be fetched). */
  headers: BlockHeader[]
  /**
   * The logs of a block of the range, or null when they cannot be trusted and must be fetched by the
   * block's hash: a log names another block (the range was answered from a reorged or different node), or
   * the range gave none while the block's bloom says it may hold some (a lagging node answered).
   */
  logsFor(header: BlockHeader): Log[] | null
  addresses: readonly Address[]
}

/** Options of {@link createBlockRangeFetcher}. */
export type BlockRangeFetcherOptions = {
  chain: ChainConnection
  /** Widest range asked for in one eth_getLogs (default 1000). */
  maxSpan?: number
  /** Header requests in flight at once (default 8). */
  concurrency?: number
  /**
   * Logs one eth_getLogs should return, about (default 1,000): after a range returned more, the span
   * shrinks in proportion. A large answer costs the node more per log: Anvil spent ~5 µs of CPU per log
   * answering 1,000 logs at once and ~18 µs per log answering 5,000 (bench/growth/probeLogShapes.ts, ~1.3 KB
   * of JSON per log), and a huge one (100k logs are ~130 MB) is past viem's 10 MB limit over http and the
   * request timeout of a busy node, and is held in memory whole. Answers of about this size, several in
   * flight (`rangesAhead`), keep the node busy without making each log dearer.
   */
  targetLogs?: number
  /**
   * Ranges asked for ahead of the one being processed (default 3): the node answers the next ones while
   * the engine processes this one, and more than one request in flight keeps a node busy that answers
   * each request on one thread (Anvil: 23k logs/s with one eth_getLogs at a time, 31–36k with 2–4). The
   * blocks they cover are at most one span's worth, or this many blocks: more than one range is in flight
   * only when a range is a few blocks (each block's logs a large answer), or when the ranges lie past the
   * reorg window (`settledDepth`).
   */
  rangesAhead?: number
  /**
   * Blocks at least this far below the target are past the reorg window (the follower's `maxReorgDepth`):
   * ranges that end there are asked for `rangesAhead` at a time whatever their span, since no reorg the
   * follower handles can replace them. Default: none, so every range ahead obeys the one-span cap.
   */
  settledDepth?: number
  /** Where a shrinking range is warned about. Default: silent. */
  logger?: Pick<Logger, 'warn'> | undefined
}

/**
 * Fetches blocks for catching up in stretches: one eth_getLogs for a range of blocks instead of one per
 * block, and the range's headers concurrently. When the provider refuses a range as too large the span is
 * halved (or set to the span the provider names) and kept: a block limit is a fixed setting of the provider.
 * A limit on the number of results depends on how busy the blocks are, so after that kind of refusal the
 * span grows back, doubling after every 8 ranges that went through. The span also follows the answers: it
 * starts at 10 blocks, doubles after each answer of under a quarter of `targetLogs` logs, and shrinks in
 * proportion after one of more.
 *
 * @example
 * const fetcher = createBlockRangeFetcher({ chain })
 * const range = await fetcher.fetch(101n, 600n, addresses)
 * for (const header of range.headers) process(header, range.logsFor(header))
 */
export function createBlockRangeFetcher(options: BlockRangeFetcherOptions) {
  const { chain } = options
  const maxSpan = BigInt(options.maxSpan ?? 1_000)
  const concurrency = options.concurrency ?? 8
  const targetLogs = options.targetLogs ?? 1_000
  const rangesAhead = Math.max(0, options.rangesAhead ?? 3)
  const settledDepth = options.settledDepth === undefined ? undefined : BigInt(options.settledDepth)
  const headerAttempts = 3
  // How busy the blocks are is unknown at first: start at a modest span and double it while the answers
  // stay small, rather than ask a busy contract's 1,000 blocks (a 100 MB answer) and fail.
  let span = maxSpan < firstSpan ? maxSpan : firstSpan
  let ceiling = maxSpan
  let sinceShrunk = 0

  const fetchLogs = async (from: bigint, to: bigint, addresses: readonly Address[]) => {
    for (;;) {
      const end = to - from + 1n > span ? from + span - 1n : to
      const asked = end - from + 1n
      try {
        const logs = await chain.getLogsInRange({ fromBlock: from, toBlock: end, addresses })
        if (logs.length > targetLogs && asked > 1n) {
          const next = (asked * BigInt(targetLogs)) / BigInt(logs.length)
          span = next < 1n ? 1n : next
          sinceShrunk = 0
        } else if (span < ceiling && (logs.length < targetLogs / 4 || ++sinceShrunk >= 8)) {
          span = span * 2n > ceiling ? ceiling : span * 2n
          sinceShrunk = 0
        }
        return { to: end, logs }
      } catch (error) {
        const refusal = parseLogRangeError(error)
        // A range the node could not answer in time, or whose answer is over the transport's size limit
        // (viem's http: 10 MB), is asked for in halves like a refused one: the follower would otherwise
        // retry the same range, and fail again, forever.
        const slow = !refusal && isTooMuch(error)
        if ((!refusal && !slow) || asked === 1n) throw error
        const next =
          refusal?.suggestedSpan && refusal.suggestedSpan < asked ? refusal.suggestedSpan : asked / 2n
        span = next < 1n ? 1n : next
        sinceShrunk = 0
        if (refusal?.limit === 'blocks') ceiling = span
        options.logger?.warn(
          `eth_getLogs over ${asked} blocks ${refusal ? `refused (${refusal.limit} limit)` : 'too slow or too large'}; asking for ${span} at a time`,
          { asked, span, ...(refusal ? { limit: refusal.limit } : {}) },
        )
      }
    }
  }

  const getHeader = async (n: bigint) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await chain.getHeader(n)
      } catch (error) {
        if (attempt >= headerAttempts || classifyRpcError(error) === 'answer') throw error
        await sleep(backoffDelay(attempt, { baseMs: 50, maxMs: 400 }))
      }
    }
  }

  /**
   * The headers of `from`–`to`, or of a first part of them: when one cannot be fetched (after a few quick
   * tries) the blocks before it are still worth processing. Under a high error rate, a stretch that had to
   * arrive whole would almost never arrive (one request in four failing: 16 requests all succeed 1% of the
   * time). Throws only when not even the first header came.
   */
  const fetchHeaders = async (from: bigint, to: bigint) => {
    const count = Number(to - from + 1n)
    const headers: BlockHeader[] = new Array(count)
    let next = 0
    let failedAt = count
    let firstError: unknown
    const worker = async () => {
      while (next < failedAt) {
        const i = next++
        try {
          headers[i] = await getHeader(from + BigInt(i))
        } catch (error) {
          if (i < failedAt) {
            failedAt = i
            firstError = error
          }
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
    if (failedAt === 0) throw firstError
    return headers.slice(0, failedAt)
  }

  const fetchRange = async (from: bigint, to: bigint, addresses: readonly Address[]): Promise<BlockRange> => {
    // The headers of the planned stretch are asked for beside its logs, not after them: the node answers
    // both at once (one round trip, not two). A refusal that makes the logs end earlier leaves a few
    // headers unused; the headers then cover just the logs' stretch.
    const planned = plannedEnd(from, to, addresses)
    const asked = fetchHeaders(from, planned)
    // Its failure surfaces below, or not at all when the logs fail first.
    asked.catch(() => {})
    const { to: end, logs } =
      addresses.length > 0 ? await fetchLogs(from, planned, addresses) : { to: planned, logs: [] as Log[] }
    const headers = (await asked).filter((h) => h.number <= end)
    const byBlock = new Map<bigint, Log[]>()
    for (const log of logs) {
      const n = log.blockNumber as bigint
      const list = byBlock.get(n)
      if (list) list.push(log)
      else byBlock.set(n, [log])
    }
    return {
      headers,
      addresses,
      logsFor(header) {
        const own = (byBlock.get(header.number) ?? []).sort((a, b) => (a.logIndex ?? 0) - (b.logIndex ?? 0))
        if (own.some((l) => l.blockHash !== header.hash)) return null
        if (
          own.length === 0 &&
          header.logsBloom &&
          addresses.some((a) => bloomMayContain(header.logsBloom as never, a))
        )
          return null
        return own
      },
    }
  }

  /** Most blocks asked for ahead of the range being processed: one span's worth, or `rangesAhead` blocks. */
  const maxAhead = () => (span > BigInt(rangesAhead) ? span : BigInt(rangesAhead))

  /** Where a range asked for from `from` (up to `to`) is planned to end: its logs' span, or maxSpan without logs. */
  const plannedEnd = (from: bigint, to: bigint, addresses: readonly Address[]) => {
    const width = addresses.length > 0 ? span : maxSpan
    return to - from + 1n > width ? from + width - 1n : to
  }

  /**
   * The next stretches, already asked for while the caller processes the current one, in order: each starts
   * where the one before is planned to end (a range refused or cut short ends earlier, and the ranges
   * after it are then dropped unused).
   */
  let ahead: { from: bigint; end: bigint; addresses: string; range: Promise<BlockRange> }[] = []

  return {
    /** The current span of one eth_getLogs. */
    span: () => span,
    /**
     * Fetches blocks `from` up to `to` — fewer when the span allows fewer: the range returned ends at its last
     * header. Then asks for up to `rangesAhead` stretches after it, so the node serves the next ranges while
     * this one is processed; one is used only if a later call starts where it starts, for the same contracts
     * (it is checked like any range: logs against each block's hash, headers linked by parent hash by the
     * caller). A call that starts elsewhere (after a reorg, a failure, a range cut short) drops them all.
     */
    async fetch(from: bigint, to: bigint, addresses: readonly Address[]): Promise<BlockRange> {
      const key = addresses.join(',')
      const first = ahead[0]
      const prefetched = first && first.from === from && first.addresses === key ? first.range : null
      if (prefetched) ahead.shift()
      else ahead = []
      const range = await (prefetched ?? fetchRange(from, to, addresses))
      const last = range.headers.at(-1)
      // Asked for only after an answer: the first one sets the span the ranges ahead are asked with.
      if (last) {
        // Ranges ahead planned past a shorter answer start where no call will: drop them.
        if (ahead[0] && ahead[0].from !== last.number + 1n) ahead = []
        let next = (ahead.at(-1)?.end ?? last.number) + 1n
        while (ahead.length < rangesAhead && next <= to) {
          const end = plannedEnd(next, to, addresses)
          // Blocks asked for ahead are processed even if a reorg replaces them meanwhile (the follower then
          // finds the break by parent hash): no more of them than one range's span, as with one range
          // ahead, unless a range is a few blocks (dense blocks, whose logs fill one answer each).
          const settled = settledDepth !== undefined && to - end >= settledDepth
          if (ahead.length > 0 && end - last.number > maxAhead() && !settled) break
          const asked = fetchRange(next, end, addresses)
          // A failure surfaces when (and if) a later call uses it.
          asked.catch(() => {})
          ahead.push({ from: next, end, addresses: key, range: asked })
          next = end + 1n
        }
      }
      return range
    },
  }
}

const isTooMuch = (error: unknown): boolean =>
  walk(
    error,
    (e) =>
      !(e instanceof Error) ||
      /timeout|TooLarge/i.test(e.name) ||
      /timed? ?out|took too long|exceeded the size limit/i.test(e.message),
  ) instanceof Error

/** A fetcher made by {@link createBlockRangeFetcher}. */
export type BlockRangeFetcher = ReturnType<typeof createBlockRangeFetcher>
