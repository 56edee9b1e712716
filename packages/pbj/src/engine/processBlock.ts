import { bloomMayContain } from '../chain/bloomMayContain.js'
import { type PrefetchedLogs, pickPrefetchedLogs } from '../chain/pickPrefetchedLogs.js'
import type { BlockHeader } from '../chain/types.js'
import { now } from '../internal/now.js'
import type { Job } from '../store/types.js'
import { planBlock } from '../triggers/planBlock.js'
import type { Common } from './types.js'

/**
 * Takes one block through the trigger stage: its logs (only from watched contracts), the jobs and timers
 * they cause, committed atomically with the cursor, then queued. Catch-up passes the block's logs, fetched
 * with a range of blocks; otherwise they are fetched by the block's hash.
 *
 * @example
 * await processBlock(common, header, Date.now())
 */

export async function processBlock(
  common: Common,
  header: BlockHeader,
  receivedAt: number,
  prefetched?: PrefetchedLogs,
): Promise<void> {
  const { index } = common
  // A block whose bloom rules out every watched address has none of their logs: no round trip for it
  // (a deadline's block is often empty). The bloom has false positives, never false negatives.
  const bloom = header.logsBloom
  const mayHaveLogs =
    index.addresses.length > 0 && (!bloom || index.addresses.some((a) => bloomMayContain(bloom, a)))
  const logs = mayHaveLogs
    ? (pickPrefetchedLogs(prefetched, index.addresses) ??
      (await common.chain.getLogs({ blockHash: header.hash, addresses: index.addresses })))
    : []
  const write = await planBlock(
    {
      chainId: common.chainId,
      index,
      store: common.store,
      chain: common.chain,
      logger: common.logger,
    },
    header,
    logs,
  )
  await common.store.commitBlock(common.chainId, write)
  const committedAt = now()
  const jobs: Job[] = write.jobs
    .filter((j) => j.readyAt !== null && j.readyAt <= header.number)
    .map((j) => ({
      ...j,
      status: 'pending',
      attempts: 0,
      createdAt: Math.round(committedAt),
      runAfter: 0,
      lastError: null,
    }))
  // Jobs of earlier blocks whose confirmations this block completes run first.
  const finalized = common.index.usesFinalized ? await common.chain.getFinalizedNumber() : null
  common.queue.push(await common.store.releaseJobs(header.number, finalized))
  common.queue.push(jobs)
  common.events.emit('block', {
    number: header.number,
    hash: header.hash,
    timestamp: header.timestamp,
    jobs: jobs.length,
    receivedAt,
    committedAt,
  })
}
