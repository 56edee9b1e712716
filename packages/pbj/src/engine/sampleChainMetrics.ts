import { withTimeout } from '@pbj/internal/withTimeout.js'
import type { ChainConnection } from '../chain/types.js'
import type { Store } from '../core/store.js'
import type { Metrics } from '../internal/metrics.js'
import type { Queue } from '../queue/types.js'

/** What {@link sampleChainMetrics} reads. */
export type ChainMetricServices = {
  chain: Pick<ChainConnection, 'chainId' | 'latestSeen' | 'getHeader'>
  store: Pick<Store, 'getCursor'>
  queue: Pick<Queue, 'size'>
  metrics: Pick<Metrics, 'set'>
}

/**
 * Sets the follower's gauges at a scrape: the node's head, the last processed block (the store's cursor),
 * the lag between them in blocks and in chain seconds (block timestamps), and the queue's depth. The head
 * is asked of the node (at most 1 s; the highest head seen stands in when it does not answer), so the lag
 * shows even while the follower is stalled and no block event comes.
 *
 * @example
 * metrics.onCollect(() => sampleChainMetrics({ chain, store, queue, metrics: common.metrics }))
 */
export async function sampleChainMetrics(services: ChainMetricServices): Promise<void> {
  const { chain, store, queue, metrics } = services
  metrics.set('pbj_queue_depth', queue.size())
  const [cursor, head] = await Promise.all([
    store.getCursor(chain.chainId),
    withTimeout(chain.getHeader('latest'), 1_000, () => new Error('head not read within 1 s')).catch(
      () => null,
    ),
  ])
  const headNumber = head && head.number > chain.latestSeen() ? head.number : chain.latestSeen()
  metrics.set('pbj_head_block', Number(headNumber))
  if (!cursor) return
  metrics.set('pbj_processed_block', Number(cursor.number))
  metrics.set('pbj_lag_blocks', Number(headNumber > cursor.number ? headNumber - cursor.number : 0n))
  if (head)
    metrics.set(
      'pbj_lag_seconds',
      Number(
        head.timestamp > cursor.timestamp && head.number > cursor.number
          ? head.timestamp - cursor.timestamp
          : 0n,
      ),
    )
}
