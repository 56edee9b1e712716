import { bloomMayContain } from '../chain/bloomMayContain.js'
import type { ReadMemory, ReadRef } from '../chain/createReadMemory.js'
import { type PrefetchedLogs, pickPrefetchedLogs } from '../chain/pickPrefetchedLogs.js'
import type { ChainConnection } from '../chain/types.js'
import type { BlockHeader } from '../core/block.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Job, NewJob } from '../core/job.js'
import type { Store } from '../core/store.js'
import type { Emitter } from '../internal/createEmitter.js'
import { now } from '../internal/now.js'
import type { Queue } from '../queue/types.js'
import { planBlock } from '../triggers/planBlock.js'
import { prefetchKeyOf } from './prefetchKeyOf.js'
import type { Common, LoadedFunctions } from './types.js'

/** What processBlock uses: the chain id, the chain and store planBlock reads, the queue, the trigger index. */
export type BlockServices = {
  common: Pick<Common, 'options' | 'logger'>
  chain: ChainConnection
  store: Store
  queue: Pick<Queue, 'push'>
  events: Pick<Emitter<EngineEvents>, 'emit'>
  /** The trigger index of the functions loaded now (hot reload replaces it). */
  index: LoadedFunctions['index']
  /** The reads each run key made last time (hostHandlers records them); none: no prefetch. */
  readMemory?: ReadMemory | undefined
}

/**
 * Takes one block through the trigger stage: its logs (only from watched contracts), the jobs and timers
 * they cause, committed atomically with the cursor, then queued. Catch-up passes the block's logs, fetched
 * with a range of blocks; otherwise they are fetched by the block's hash.
 *
 * @example
 * await processBlock(services, header, Date.now())
 */

export async function processBlock(
  services: BlockServices,
  header: BlockHeader,
  receivedAt: number,
  prefetched?: PrefetchedLogs,
): Promise<void> {
  const { index, common } = services
  // A block whose bloom rules out every watched address has none of their logs: no round trip for it
  // (a deadline's block is often empty). The bloom has false positives, never false negatives.
  const bloom = header.logsBloom
  const mayHaveLogs =
    index.addresses.length > 0 && (!bloom || index.addresses.some((a) => bloomMayContain(bloom, a)))
  const logs = mayHaveLogs
    ? (pickPrefetchedLogs(prefetched, index.addresses) ??
      (await services.chain.getLogs({ blockHash: header.hash, addresses: index.addresses })))
    : []
  const write = await planBlock(
    {
      chainId: common.options.chainId,
      index,
      store: services.store,
      chain: services.chain,
      logger: services.common.logger,
    },
    header,
    logs,
  )
  prefetchRuns(services, header, write.jobs)
  await services.store.commitBlock(
    common.options.chainId,
    prefetched?.settled ? { ...write, undo: false } : write,
  )
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
  const finalized = services.index.usesFinalized ? await services.chain.getFinalizedNumber() : null
  services.queue.push(await services.store.releaseJobs(header.number, finalized))
  services.queue.push(jobs)
  services.events.emit('block', {
    number: header.number,
    hash: header.hash,
    timestamp: header.timestamp,
    jobs: jobs.length,
    receivedAt,
    committedAt,
  })
}

/**
 * Asks, now, for the reads the runs this block starts made last time (and their commands' guards), at this
 * block, as one multicall into the chain's read cache: by the time the block is committed and a run starts,
 * its reads are answered or in flight, and the guard (which reads at the newest head, this block when
 * nothing newer came) finds its own too. Only at the head: a catch-up block's runs are many and the cache
 * keeps the newest few blocks only.
 */
function prefetchRuns(services: BlockServices, header: BlockHeader, jobs: readonly NewJob[]): void {
  const memory = services.readMemory
  if (!memory || jobs.length === 0 || header.number + 2n < services.chain.latestSeen()) return
  const reads: ReadRef[] = []
  for (const job of jobs) {
    if (job.readyAt === null || job.readyAt > header.number) continue
    const key = prefetchKeyOf(job)
    if (key !== null) for (const read of memory.recall(key)) reads.push(read)
  }
  if (reads.length > 0) services.chain.prefetchReads(reads, header)
}
