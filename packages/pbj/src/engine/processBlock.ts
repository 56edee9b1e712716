import { bloomMayContain } from '../chain/bloomMayContain.js'
import { type PrefetchedLogs, pickPrefetchedLogs } from '../chain/pickPrefetchedLogs.js'
import type { ChainConnection } from '../chain/types.js'
import type { BlockHeader } from '../core/block.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Job } from '../core/job.js'
import type { Store } from '../core/store.js'
import type { Emitter } from '../internal/createEmitter.js'
import { now } from '../internal/now.js'
import type { Queue } from '../queue/types.js'
import { planBlock } from '../triggers/planBlock.js'
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
