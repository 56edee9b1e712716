import { messageOf } from '@pbj/internal/messageOf.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import type { Store } from '../../core/store.js'
import type { Emitter } from '../../internal/createEmitter.js'
import { type Logger, silentLogger } from '../../internal/logger.js'
import type { BrokerConnection } from '../broker/types.js'
import type { CommandSigner } from './createCommandSigner.js'
import { createCorrections } from './createCorrections.js'
import { createOutboxDelivery } from './createOutboxDelivery.js'
import { createReconciler } from './createReconciler.js'

/**
 * Options of {@link createDeviceDispatcher}.
 *
 * @example
 * const options: DeviceDispatcherOptions = { store, broker, events, signer, concurrency: 64 }
 */
export type DeviceDispatcherOptions = {
  store: Pick<
    Store,
    | 'getDevice'
    | 'getDevices'
    | 'markPublished'
    | 'unpublishedDevices'
    | 'unacknowledgedDevices'
    | 'markCorrected'
  >
  broker: Pick<BrokerConnection, 'publishDesired' | 'onConnect' | 'onReported'>
  /**
   * Receives 'device:desired' when the broker acknowledges a publish, 'device:corrected' when a device
   * behind its desired version is sent it again.
   */
  events: Pick<Emitter<Pick<EngineEvents, 'device:desired' | 'device:corrected'>>, 'emit'>
  /** Where publishes, signatures and corrections that failed are warned about. Default: silent. */
  logger?: Pick<Logger, 'warn'> | undefined
  /**
   * Signs each batch of commands (see createCommandSigner). A signer that throws a non-retryable error (no
   * operator key) leaves the commands in the outbox with a warning.
   */
  signer: Pick<CommandSigner, 'sign'>
  /**
   * The timestamp (unix seconds) of the block a command came from, signed into it as `chainTime`; `null`
   * for a state set outside a run. Default: 0 (unknown).
   */
  chainTime?: (blockNumber: bigint | null) => number | Promise<number>
  /** Publishes in flight at once; a sweep of a thousand devices goes out this many at a time. Default 64. */
  concurrency?: number
  /** Most commands signed as one batch. Default 1,024. */
  maxBatch?: number
  /** Retry delays after a failed publish, doubling from `minMs` up to `maxMs`, ±50% jitter. 100 ms → 5 s. */
  backoff?: { minMs?: number; maxMs?: number }
  /**
   * How soon a device that reports a version behind its desired one (a refusal included) is sent the
   * desired state again: `minMs` after the report, then doubling per device up to `maxMs` while it stays
   * behind, reset once it catches up. The first wait lets a command already on its way arrive; the doubling
   * keeps a car that cannot catch up from causing a publish storm. 1 s → 60 s.
   */
  correction?: { minMs?: number; maxMs?: number }
  /**
   * Every `intervalMs` the dispatcher looks for devices whose desired version the broker acknowledged more
   * than `thresholdMs` ago and that still have not reported it, and corrects them as above: what no report
   * prompts (a report lost, a car online that never got its command). Default 30 s and 10 s; `intervalMs`
   * 0 turns it off.
   */
  reconcile?: { intervalMs?: number; thresholdMs?: number }
}

/**
 * Delivers devices' desired states from the store's outbox to the broker. See {@link createDeviceDispatcher}.
 *
 * @example
 * dispatcher.dispatch('0xcar…')
 * await dispatcher.settled()
 */
export type DeviceDispatcher = {
  /**
   * Publishes the device's current desired state (the latest version only: state, not a command log) if the
   * broker has not acknowledged that version yet. Returns at once; a failed publish is retried with backoff.
   * `force` publishes even an acknowledged version again (a broker that restarted may have lost it).
   */
  dispatch(deviceId: string, options?: { force?: boolean }): void
  /** Dispatches every device the store says is not published at its desired version; returns how many. */
  sweep(): Promise<number>
  /**
   * Sweeps now and again at every broker reconnect, corrects devices that report an older version than
   * desired, and reconciles periodically (see {@link DeviceDispatcherOptions.reconcile}).
   */
  start(): Promise<void>
  /**
   * Looks once for devices that have not reported their acknowledged desired version for `thresholdMs` and
   * corrects them (with the per-device backoff); returns how many it sent again now.
   */
  reconcile(): Promise<number>
  /** Resolves when no publish is queued or in flight (devices waiting to retry do not count). */
  settled(): Promise<void>
  /** Devices not yet delivered: queued, in flight, or waiting to retry. */
  pending(): number
  /** Stops retrying and listening, and waits for the publishes in flight. */
  close(): Promise<void>
}

/**
 * Owns delivery of desired state, as an outbox: a run only makes the desired state durable and calls
 * `dispatch`, so a broker outage never fails the run. The dispatcher publishes at once (no polling), keeps
 * one publish per device in flight so versions reach the broker in order (the retained message must end
 * on the latest), retries failed publishes with backoff and jitter until the broker is back, sweeps the
 * outbox when the broker reconnects and at start (a crash between the store write and the publish), and
 * emits 'device:desired' when the broker acknowledges.
 *
 * An acknowledgement by the broker is not delivery: on a broker where others can publish, the retained
 * message can be cleared or replaced while the car is offline, and a restarted broker forgets it. So the
 * car's own signed report decides: one behind the desired version is sent it again (forced, with a
 * per-device backoff), and a periodic reconciliation finds devices that never said anything (see
 * {@link DeviceDispatcherOptions.correction} and {@link DeviceDispatcherOptions.reconcile}).
 *
 * Commands are signed at publish time, in batches, one signature per batch (see createOutboxDelivery). What
 * stays durable is the desired state, its version and command id, in the store.
 *
 * The parts: createOutboxDelivery (signing, publishing, retries), createCorrections (devices behind, their
 * backoff, the reports), createReconciler (the periodic look); this function composes them.
 *
 * @example
 * const dispatcher = createDeviceDispatcher({ store, broker, events, signer })
 * await dispatcher.start()
 * await store.setDesired(deviceId, { locked: true }, commandId, Date.now(), blockNumber)
 * dispatcher.dispatch(deviceId)
 */
export function createDeviceDispatcher(options: DeviceDispatcherOptions): DeviceDispatcher {
  const { store, broker, events, signer } = options
  const logger = options.logger ?? silentLogger
  const outbox = createOutboxDelivery({
    store,
    broker,
    events,
    signer,
    logger,
    chainTime: options.chainTime ?? (() => 0),
    concurrency: Math.max(1, options.concurrency ?? 64),
    maxBatch: Math.max(1, options.maxBatch ?? 1_024),
    backoff: { minMs: options.backoff?.minMs ?? 100, maxMs: options.backoff?.maxMs ?? 5_000 },
  })
  const corrections = createCorrections({
    store,
    events,
    logger,
    dispatch: outbox.dispatch,
    minMs: options.correction?.minMs ?? 1_000,
    maxMs: options.correction?.maxMs ?? 60_000,
  })
  const reconciler = createReconciler({
    store,
    logger,
    corrections,
    delivering: outbox.has,
    intervalMs: options.reconcile?.intervalMs ?? 30_000,
    thresholdMs: options.reconcile?.thresholdMs ?? 10_000,
  })
  const offs: (() => void)[] = []
  let closed = false

  const sweepQuietly = () =>
    void outbox.sweep().catch((error: unknown) => {
      if (!closed) logger.warn(`device outbox sweep failed: ${messageOf(error)}`, {})
    })

  return {
    dispatch: outbox.dispatch,
    sweep: outbox.sweep,
    reconcile: reconciler.reconcile,
    async start() {
      offs.push(
        broker.onConnect(() => {
          sweepQuietly()
        }),
      )
      // Whatever happened to the retained message (cleared or replaced by another client, lost in a broker
      // restart), the device's signed report says where it is: one behind its desired version is sent that
      // version again, with backoff. A report that caught up ends the correction and its backoff.
      offs.push(broker.onReported((report) => corrections.onReport(report)))
      reconciler.start()
      await outbox.sweep()
    },
    settled: outbox.settled,
    pending: outbox.pending,
    async close() {
      // All parts stop starting things in this same tick; only then is the work in flight awaited.
      closed = true
      reconciler.close()
      corrections.close()
      for (const off of offs.splice(0)) off()
      await outbox.close()
    },
  }
}
