import { messageOf } from '@pbj/internal/messageOf.js'
import type { Store } from '../../core/store.js'
import type { Logger } from '../../internal/logger.js'
import type { Corrections } from './createCorrections.js'

/**
 * Options of {@link createReconciler}: the dispatcher's, resolved (see DeviceDispatcherOptions.reconcile).
 *
 * @example
 * const options: ReconcilerOptions = {
 *   store, logger, corrections, delivering: outbox.has, intervalMs: 30_000, thresholdMs: 10_000,
 * }
 */
export type ReconcilerOptions = {
  store: Pick<Store, 'unacknowledgedDevices'>
  logger: Pick<Logger, 'warn'>
  corrections: Pick<Corrections, 'correctIfDue'>
  /** True while the outbox still has the device in hand: it is not behind yet, only on its way. */
  delivering(deviceId: string): boolean
  /** How often to look; 0 never (reconcile() still works). */
  intervalMs: number
  /** How long a device may take to report a version the broker acknowledged. */
  thresholdMs: number
}

/**
 * The periodic look for devices that never said anything. See {@link createReconciler}.
 *
 * @example
 * reconciler.start()
 * const sent = await reconciler.reconcile()
 */
export type Reconciler = {
  /** Looks once and corrects the devices found; returns how many it sent again now. */
  reconcile(): Promise<number>
  /** Reconciles every `intervalMs` until closed. */
  start(): void
  close(): void
}

/**
 * Finds what no report prompts — a report lost, a car online that never got its command: devices whose
 * desired version the broker acknowledged more than `thresholdMs` ago and that still have not reported
 * it. Each is corrected with its per-device backoff (see createCorrections), a thousand at a time.
 *
 * @example
 * const reconciler = createReconciler({ store, logger, corrections, delivering: outbox.has,
 *   intervalMs: 30_000, thresholdMs: 10_000 })
 * reconciler.start()
 */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { store, logger, corrections, delivering, intervalMs, thresholdMs } = options
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const reconcile = async () => {
    let count = 0
    let after = ''
    for (;;) {
      const page = await store.unacknowledgedDevices(Date.now() - thresholdMs, 1_000, after)
      for (const device of page) {
        if (closed) return count
        if (delivering(device.deviceId)) continue
        if (await corrections.correctIfDue(device.deviceId, device.reportedVersion)) count++
      }
      const last = page.at(-1)
      if (!last || page.length < 1_000) return count
      after = last.deviceId
    }
  }

  return {
    reconcile,
    start() {
      if (!(intervalMs > 0)) return
      timer = setInterval(() => {
        void reconcile().catch((error: unknown) => {
          if (!closed) logger.warn(`device reconciliation failed: ${messageOf(error)}`, {})
        })
      }, intervalMs)
      timer.unref()
    },
    close() {
      closed = true
      clearInterval(timer)
    },
  }
}
