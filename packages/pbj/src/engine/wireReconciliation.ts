import { messageOf } from '@pbj/internal/messageOf.js'
import { sleep } from '@pbj/internal/sleep.js'
import { type ChainReconciler, createChainReconciler } from '../actions/devices/createChainReconciler.js'
import type { FollowOptions } from '../chain/followHeads.js'
import type { ReconcileReason } from '../core/deviceCorrection.js'
import type { EngineServices } from './createEngineServices.js'
import { createSettledTime } from './createSettledTime.js'
import { handleReorg } from './handleReorg.js'

/** How long a pass waits for the runs in flight to finish first (so it does not race them), at most. */
const settleMs = 5_000

/** The reconciler of one engine and the follower callbacks that ask it for passes. */
export type Reconciliation = {
  reconciler: ChainReconciler
  /** What followHeads is given: reorgs roll back (handleReorg), then ask for a pass once at the head. */
  follow: Required<Pick<FollowOptions, 'onReorg' | 'onDeepReorg' | 'onHead'>>
  /** Starts the periodic passes. */
  start(): void
  close(): Promise<void>
}

/**
 * Decides when the engine reconciles every device with the chain (createChainReconciler): once the follower
 * first reaches the head (`start`); when it reaches it again after RPC failures, or the broker reconnects
 * (`outage`); after a reorg (`reorg`) or one deeper than the window (`deepReorg`), once the new branch is
 * processed up to the head; every `intervalMs` (`periodic`, 0 never); and, for the devices whose answer was
 * due to change by a processed block's timestamp, once the functions' confirmations accept that block
 * (`scheduled`, createSettledTime), so the net never acts before a function that waits for confirmations. A deep reorg also rolls back to
 * where the follower resumes and emits 'reorg:deep'. Each pass first waits (up to 5 s) for the runs in
 * flight, so a compensation already under way is not duplicated.
 *
 * @example
 * const reconciliation = wireReconciliation(services, { intervalMs: 60_000 })
 * await followHeads({ chain, store, onBlock, ...reconciliation.follow })
 * reconciliation.start()
 */
export function wireReconciliation(
  services: EngineServices,
  options: { intervalMs: number },
): Reconciliation {
  const { events, store, queue, dispatcher, broker, common, blockServices } = services
  const reconciler = createChainReconciler({
    services: { ...services.runServices.host, store, events, logger: common.logger },
    intervalMs: options.intervalMs,
    settle: (signal) =>
      Promise.race([queue.idle().then(() => dispatcher.settled()), sleep(settleMs, signal)]),
  })
  // A reorg asks for a pass once the follower has processed the new branch up to the head.
  let pending: ReconcileReason | null = null
  const offConnect = reconciler.enabled ? broker.onConnect(() => reconciler.request('outage')) : () => {}
  // Each processed block's time — as far as the functions' confirmations have accepted it — re-checks
  // the devices whose chain answer was due to change by then.
  const settledTime = createSettledTime(blockServices)
  const offBlock = reconciler.enabled
    ? events.on('block', (block) => {
        const mayBeDue = () => (reconciler.nextChangeAt() ?? block.timestamp + 1n) <= block.timestamp
        settledTime(block, mayBeDue).then(
          (settled) => settled && reconciler.onBlockTime(settled.timestamp, settled.number),
          (error: unknown) =>
            common.logger.warn(
              `scheduled device re-checks skipped at block ${block.number}: ${messageOf(error, { firstLine: true })}`,
              { blockNumber: block.number },
            ),
        )
      })
    : () => {}
  return {
    reconciler,
    follow: {
      async onReorg(ancestor) {
        await handleReorg(blockServices, ancestor)
        if (pending !== 'deepReorg') pending = 'reorg'
      },
      async onDeepReorg(resumeAt, lost) {
        await handleReorg(blockServices, resumeAt)
        events.emit('reorg:deep', { from: lost.from, to: lost.to, resumedAt: resumeAt.number })
        pending = 'deepReorg'
      },
      onHead({ first, recovered }) {
        const reason = pending ?? (first ? 'start' : recovered ? 'outage' : null)
        pending = null
        if (reason && reconciler.enabled) reconciler.request(reason)
      },
    },
    start: () => reconciler.start(),
    async close() {
      offConnect()
      offBlock()
      await reconciler.close()
    },
  }
}
