import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { sleep } from '@pbj/internal/sleep.js'
import type { Address } from 'viem'
import type { BlockHeader, Cursor } from '../core/block.js'
import type { Store } from '../core/store.js'
import { DeepReorgError } from '../internal/errors.js'
import { type Logger, silentLogger } from '../internal/logger.js'
import { now } from '../internal/now.js'
import { classifyRpcError, retryAfterMs } from './classifyRpcError.js'
import { createBlockRangeFetcher } from './createBlockRangeFetcher.js'
import { findCommonAncestor } from './findCommonAncestor.js'
import type { PrefetchedLogs } from './pickPrefetchedLogs.js'
import type { ChainConnection } from './types.js'

/** Options of {@link followHeads}. */
export type FollowOptions = {
  chain: ChainConnection
  store: Store
  /**
   * Processes one block and commits it with the cursor; called strictly in order. While catching up, the
   * block's logs come along, fetched with a range of blocks (checked against this block's hash).
   */
  onBlock(header: BlockHeader, receivedAt: number, prefetched?: PrefetchedLogs): Promise<void>
  /** The contracts whose logs `onBlock` reads: catch-up fetches them for a range of blocks at once. */
  addresses?: () => readonly Address[]
  /** Further behind the head than this many blocks, pbj catches up by ranges (default 2). */
  catchUpAfter?: number
  /** Widest eth_getLogs range while catching up (default 1000); halved when the provider refuses. */
  maxLogsRange?: number
  /** Rolls pbj back to `ancestor` (the newest block both chains share); called before the new branch. */
  onReorg(ancestor: Cursor, removed: { from: bigint; to: bigint }): Promise<void>
  /** Where to start on an empty store: 'latest' (default) or a block number. */
  startBlock?: 'latest' | number
  /** Deepest reorg pbj rolls back to a common block; deeper ones go to `onDeepReorg` (default 250). */
  maxReorgDepth?: number
  /**
   * A reorg deeper than `maxReorgDepth`: rolls pbj back to `resumeAt` (the new chain's block at the
   * window's depth, the oldest height pbj still keeps), removing the old chain's blocks `lost.from`…`lost.to`.
   * The follower then goes on from `resumeAt`. Without it the follower stops with DeepReorgError.
   */
  onDeepReorg?(resumeAt: Cursor, lost: { from: bigint; to: bigint }): Promise<void>
  /**
   * Called each time the follower has processed every block up to the newest head it knows: `first` the
   * first time (start-up caught up), `recovered` the first time after RPC failures (an outage is over).
   */
  onHead?(info: { first: boolean; recovered: boolean; head: bigint }): void
  /** A safety net for a silently dead subscription: the head is also polled this often (default 2000 ms). */
  pollIntervalMs?: number
  /**
   * Where lagging nodes, reorgs, RPC retries and a dropped subscription are warned about, and a deep reorg
   * is logged as an error (field `deepReorg: true`). Default: silent.
   */
  logger?: Pick<Logger, 'warn' | 'error'> | undefined
  onError?(error: unknown): void
  /** Told whether the node answers: false on an RPC failure, true on the next success (the `chain` check). */
  onRpcState?(ok: boolean, detail?: string): void
}

/**
 * Follows the chain head without trusting pushes. A pushed head is only a wake-up: blocks are processed one
 * by one from the durable cursor, gaps are filled by number, and each block must link to the last one by
 * parent hash. A block that does not link, or a different block at a height pbj has processed, is a reorg:
 * pbj walks back to the common ancestor and rolls back — but only once the node really serves another block
 * at pbj's height, so a lagging node cannot make it undo good blocks. A reorg deeper than the window does
 * not stall it: it says so loudly, rolls back what it keeps and resumes from the new chain (onDeepReorg).
 *
 * Behind by more than `catchUpAfter` blocks (start-up after downtime, a dropped subscription), it catches up
 * by ranges: one eth_getLogs for many blocks and their headers fetched concurrently, each block still linked
 * by parent hash. An RPC failure is retried with backoff (50 ms doubling to 5 s, with jitter) from the
 * durable cursor, so no block is skipped or processed twice. Returns a stop function.
 *
 * @example
 * const stop = await followHeads({ chain, store, onBlock: (h) => processBlock(common, h), onReorg })
 */
export async function followHeads(options: FollowOptions): Promise<() => Promise<void>> {
  const { chain, store } = options
  const logger = options.logger ?? silentLogger
  const chainId = chain.chainId
  let target: BlockHeader | null = null
  let running: Promise<void> | null = null
  let stopped = false
  // For onHead: whether the follower has reached the head yet, and whether the RPC failed since it last did.
  let reachedHead = false
  let troubled = false
  const stopping = new AbortController()
  const catchUpAfter = BigInt(options.catchUpAfter ?? 2)
  const maxDepth = options.maxReorgDepth ?? 250
  const fetcher = createBlockRangeFetcher({
    chain,
    ...(options.maxLogsRange === undefined ? {} : { maxSpan: options.maxLogsRange }),
    settledDepth: maxDepth,
    logger,
  })

  let last: Cursor | null = await store.getCursor(chainId)
  if (!last) {
    const start = options.startBlock ?? 'latest'
    // An empty store does not replay history unless startBlock says so.
    last =
      start === 'latest'
        ? await chain.getHeader('latest')
        : start === 0
          ? { number: -1n, hash: '0x', parentHash: '0x', timestamp: 0n }
          : await chain.getHeader(BigInt(start - 1))
  }
  const hashAt = async (n: bigint) =>
    last && n === last.number ? last.hash : await store.getBlockHash(chainId, n)

  const reorg = async (seen: BlockHeader) => {
    const from = last as Cursor
    let ancestor: Cursor | 'lagging'
    try {
      ancestor = await findCommonAncestor({
        chain,
        hashAt,
        from: seen.number - 1n < from.number ? seen.number - 1n : from.number,
        maxDepth,
        ourHead: from,
      })
    } catch (error) {
      if (!(error instanceof DeepReorgError) || !options.onDeepReorg) throw error
      await deepReorg(from, error)
      return
    }
    if (ancestor === 'lagging') {
      logger.warn(
        `The node has no block at ${from.number} yet; waiting before treating head ${seen.number} as a reorg`,
        { blockNumber: from.number, head: seen.number },
      )
      target = null
      return
    }
    logger.warn(
      `Reorg: blocks ${ancestor.number + 1n}–${from.number} were replaced; rolling back to ${ancestor.number}`,
      { from: ancestor.number + 1n, to: from.number, ancestor: ancestor.number },
    )
    await options.onReorg(ancestor, { from: ancestor.number + 1n, to: from.number })
    last = ancestor
  }

  /**
   * No common block in the window. Rolling back further is impossible (pbj keeps no older undo records)
   * and stalling leaves every function stopped, so: roll back the blocks it keeps, take the new chain's
   * block at the window's depth as the cursor and go on from there. Resuming there rather than at the new
   * head means the new chain's blocks inside the window are processed like any other (their events run,
   * timers restored by the rollback fire once on the new chain's time); only what lies below the window
   * is lost, which the engine's reconciliation covers.
   */
  const deepReorg = async (ourHead: Cursor, error: DeepReorgError) => {
    const resumeAt = await chain.getHeader(error.oldestKept)
    const lost = { from: resumeAt.number + 1n, to: ourHead.number }
    logger.error(
      `Reorg deeper than the ${maxDepth}-block window: none of the blocks pbj processed from ${error.oldestKept} to ${ourHead.number} is on the node's chain (the node serves another block at ${ourHead.number}). ` +
        `pbj rolls back blocks ${lost.from}–${lost.to} (jobs that had not run are dropped, functions with onReorg compensate), resumes from the node's block ${resumeAt.number} (${resumeAt.hash}) and reconciles every device with the chain. ` +
        `What the old chain's blocks up to ${resumeAt.number} did stays done, and the new chain's blocks below ${resumeAt.number + 1n} are not processed.`,
      {
        deepReorg: true,
        maxReorgDepth: maxDepth,
        from: lost.from,
        to: lost.to,
        resumedAt: resumeAt.number,
        resumedAtHash: resumeAt.hash,
        oldHead: ourHead.hash,
      },
    )
    await options.onDeepReorg?.(resumeAt, lost)
    last = { ...resumeAt }
  }

  const loop = async () => {
    while (!stopped && target && last) {
      const t: BlockHeader = target
      if (t.number <= last.number) {
        const ours = await hashAt(t.number)
        if (ours === null || ours === t.hash) break
        await reorg(t)
        continue
      }
      const next: bigint = last.number + 1n
      if (t.number - last.number > catchUpAfter) {
        await catchUp(next, t.number)
        continue
      }
      const receivedAt = now()
      const header = t.number === next ? t : await chain.getHeader(next)
      if (last.number >= 0n && header.parentHash !== last.hash) {
        await reorg(header)
        continue
      }
      await options.onBlock(header, receivedAt)
      last = { ...header }
    }
  }

  /** Processes blocks `from`… (up to `to`, or fewer) from one range fetch. */
  const catchUp = async (from: bigint, to: bigint) => {
    const addresses = [...(options.addresses?.() ?? [])]
    const range = await fetcher.fetch(from, to, addresses)
    for (const header of range.headers) {
      if (stopped || !last) return
      if (last.number >= 0n && header.parentHash !== last.hash) {
        await reorg(header)
        return
      }
      const logs = range.logsFor(header)
      const settled = header.number + BigInt(maxDepth) <= to
      await options.onBlock(header, now(), logs ? { addresses, logs, settled } : undefined)
      last = { ...header }
    }
  }

  /** Runs the loop until it is done, backing off and resuming from the store's cursor after a failure. */
  const run = async () => {
    for (let failures = 0; !stopped; ) {
      const before = last
      try {
        await loop()
        options.onRpcState?.(true)
        if (!stopped && target && last && last.number >= target.number) {
          const first = !reachedHead
          const recovered = troubled && !first
          reachedHead = true
          troubled = false
          options.onHead?.({ first, recovered, head: last.number })
        }
        return
      } catch (error) {
        failures = last === before ? failures + 1 : 1
        const kind = classifyRpcError(error)
        const rpcFault = kind !== 'answer' || isPbjRpcError(error)
        if (rpcFault) troubled = true
        const wait = Math.max(
          backoffDelay(failures),
          rpcFault ? Math.min(retryAfterMs(error) ?? 0, 30_000) : 0,
        )
        if (rpcFault)
          options.onRpcState?.(false, `RPC ${kind}: ${messageOf(error, { short: true, firstLine: true })}`)
        if (rpcFault)
          logger.warn(
            `RPC ${kind === 'answer' ? 'error' : kind} after block ${last?.number ?? '?'} (attempt ${failures}), retrying in ${wait} ms: ${messageOf(error, { short: true, firstLine: true })}`,
            { kind, attempt: failures, retryInMs: wait },
          )
        else options.onError?.(error)
        await sleep(wait, stopping.signal)
        // A failure can come after a block committed (its cursor with it): the store says where to resume.
        const cursor = await store.getCursor(chainId).catch(() => null)
        if (cursor) last = cursor
      }
    }
  }

  const wake = (head: BlockHeader) => {
    if (!target || head.number >= target.number || head.hash !== target.hash) target = head
    if (running) return
    running = run()
      .catch((error) => options.onError?.(error))
      .finally(() => {
        running = null
        if (!stopped && target && last && target.number > last.number)
          setTimeout(() => target && wake(target), 250)
      })
  }

  const unwatch = await chain.watchHeads(wake, (error) =>
    logger.warn(`head subscription: ${messageOf(error, { short: true, firstLine: true })}`),
  )
  const poll = setInterval(() => {
    chain
      .getHeader('latest')
      .then((head) => {
        options.onRpcState?.(true)
        wake(head)
      })
      .catch((error: unknown) => {
        troubled = true
        options.onRpcState?.(false, `head poll: ${messageOf(error, { short: true, firstLine: true })}`)
        logger.warn(`head poll: ${messageOf(error, { short: true, firstLine: true })}`)
      })
  }, options.pollIntervalMs ?? 2_000)
  poll.unref()
  // Catch up with blocks mined while pbj was down, and re-check the last one it processed.
  wake(await chain.getHeader('latest'))
  return async () => {
    stopped = true
    stopping.abort()
    clearInterval(poll)
    unwatch()
    await running
  }
}

const isPbjRpcError = (error: unknown) => error instanceof Error && error.name === 'RpcError'
