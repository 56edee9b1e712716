import type { DesiredMessage, UnsignedCommand } from '@pbj/device'
import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import type { DeviceDesired } from '../../core/device.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import type { Store } from '../../core/store.js'
import type { Emitter } from '../../internal/createEmitter.js'
import { retryClassOf } from '../../internal/errors.js'
import { type Logger, silentLogger } from '../../internal/logger.js'
import { now } from '../../internal/now.js'
import type { BrokerConnection } from '../broker/types.js'
import type { CommandSigner } from './createCommandSigner.js'

/**
 * Options of {@link createDeviceDispatcher}.
 *
 * @example
 * const options: DeviceDispatcherOptions = { store, broker, events, signer, concurrency: 64 }
 */
export type DeviceDispatcherOptions = {
  store: Pick<
    Store,
    'getDevice' | 'markPublished' | 'unpublishedDevices' | 'unacknowledgedDevices' | 'markCorrected'
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

type Delivery = {
  state: 'queued' | 'running' | 'waiting'
  /** Dispatched again while running: go once more, the store may hold a newer version. */
  again: boolean
  force: boolean
  attempt: number
  timer?: NodeJS.Timeout | undefined
}

/** A device behind its desired version, and when it may be sent it again. */
type Correction = {
  /** Corrections sent so far that set a wait: the wait after the next one doubles with each. */
  waits: number
  /** Not sent again before this (ms epoch). */
  nextAt: number
  reportedVersion: number
  reason: 'report' | 'reconcile'
  attempts: number
  timer?: NodeJS.Timeout | undefined
}

/** A device whose command is signed and waits for a publish slot. */
type Signed = {
  deviceId: string
  delivery: Delivery
  force: boolean
  message: DesiredMessage
  state: DeviceDesired
  block: bigint
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
 * Commands are signed at publish time, in batches: every device dispatched in the same tick, and every
 * one dispatched while the previous batch was being signed, goes into one batch with one signature (see
 * createCommandSigner). So one car's command is signed and sent at once, and a thousand cars' commands from
 * one block cost one signature; a command published again (after an outage, for a reconnecting car) is
 * signed afresh and so is valid for its full window. What stays durable is the desired state, its version
 * and command id, in the store.
 *
 * @example
 * const dispatcher = createDeviceDispatcher({ store, broker, events, signer })
 * await dispatcher.start()
 * await store.setDesired(deviceId, { locked: true }, commandId, Date.now(), blockNumber)
 * dispatcher.dispatch(deviceId)
 */
export function createDeviceDispatcher(options: DeviceDispatcherOptions): DeviceDispatcher {
  const { store, broker, events, signer } = options
  const chainTime = options.chainTime ?? (() => 0)
  const concurrency = Math.max(1, options.concurrency ?? 64)
  const maxBatch = Math.max(1, options.maxBatch ?? 1_024)
  const minMs = options.backoff?.minMs ?? 100
  const maxMs = options.backoff?.maxMs ?? 5_000
  const deliveries = new Map<string, Delivery>()
  const queue: string[] = []
  const signed: Signed[] = []
  // Batches being signed and publishes in flight, for close() to wait on.
  const work = new Set<Promise<void>>()
  let sending = 0
  let signing = false
  let pumpScheduled = false
  let waiters: (() => void)[] = []
  let closed = false
  const offs: (() => void)[] = []
  const correctMinMs = options.correction?.minMs ?? 1_000
  const correctMaxMs = options.correction?.maxMs ?? 60_000
  const reconcileMs = options.reconcile?.intervalMs ?? 30_000
  const thresholdMs = options.reconcile?.thresholdMs ?? 10_000
  // Devices known to be behind their desired version, with their correction backoff. An entry lives until
  // the device reports that it caught up, so the delay keeps doubling while it does not.
  const corrections = new Map<string, Correction>()
  let reconcileTimer: NodeJS.Timeout | undefined

  const logger = options.logger ?? silentLogger
  const warn = (message: string, deviceId?: string) => logger.warn(message, deviceId ? { deviceId } : {})

  const idle = () => !signing && !pumpScheduled && sending === 0 && queue.length === 0 && signed.length === 0
  const settle = () => {
    if (idle()) for (const resolve of waiters.splice(0)) resolve()
  }

  const track = (task: Promise<void>) => {
    work.add(task)
    void task.finally(() => {
      work.delete(task)
      pump()
    })
  }

  const enqueue = (deviceId: string, delivery: Delivery) => {
    delivery.state = 'queued'
    queue.push(deviceId)
  }

  // Deferred to the end of the tick, so that every device dispatched in it lands in the same batch.
  const schedulePump = () => {
    if (pumpScheduled) return
    pumpScheduled = true
    queueMicrotask(() => {
      pumpScheduled = false
      pump()
    })
  }

  const pump = () => {
    while (!closed && sending < concurrency && signed.length > 0) send(signed.shift() as Signed)
    // The next batch is signed once the last one is mostly out: a command waits for a publish slot
    // unsigned, and its validity window starts when it is actually about to go.
    if (!closed && !signing && queue.length > 0 && signed.length < concurrency) {
      signBatch(queue.splice(0, maxBatch))
    }
    settle()
  }

  const finished = (deviceId: string, delivery: Delivery) => {
    delivery.attempt = 0
    if (delivery.again && !closed) enqueue(deviceId, delivery)
    else deliveries.delete(deviceId)
  }

  const failed = (deviceId: string, delivery: Delivery, force: boolean, error: unknown) => {
    if (closed) return void deliveries.delete(deviceId)
    if (retryClassOf(error) !== 'retryable') {
      // A bug or a missing operator key, not an outage: retrying cannot help. The next sweep tries again.
      deliveries.delete(deviceId)
      return warn(`device ${deviceId}: not published: ${messageOf(error)}`, deviceId)
    }
    delivery.force ||= force
    delivery.attempt++
    delivery.state = 'waiting'
    const delay = Math.min(
      maxMs,
      backoffDelay(delivery.attempt, { baseMs: minMs, maxMs, jitter: 'plusMinusHalf' }),
    )
    delivery.timer = setTimeout(() => {
      delivery.timer = undefined
      if (closed || delivery.state !== 'waiting') return
      enqueue(deviceId, delivery)
      schedulePump()
    }, delay)
    delivery.timer.unref()
  }

  const signBatch = (ids: string[]) => {
    signing = true
    const task = (async () => {
      const batch: {
        deviceId: string
        delivery: Delivery
        force: boolean
        state: DeviceDesired
        block: bigint | null
      }[] = []
      const commands: UnsignedCommand[] = []
      const times = new Map<bigint | null, number>()
      for (const deviceId of ids) {
        const delivery = deliveries.get(deviceId)
        if (delivery?.state !== 'queued') continue
        delivery.state = 'running'
        const force = delivery.force
        delivery.force = false
        delivery.again = false
        try {
          const device = await store.getDevice(deviceId)
          if (!device?.desired || device.commandId === null) finished(deviceId, delivery)
          else if (!force && device.publishedVersion >= device.desiredVersion) finished(deviceId, delivery)
          else {
            const block = device.desiredBlock
            if (!times.has(block)) times.set(block, await chainTime(block))
            batch.push({ deviceId, delivery, force, state: device.desired, block })
            commands.push({
              deviceId,
              version: device.desiredVersion,
              commandId: device.commandId,
              state: device.desired,
              chainTime: times.get(block) as number,
            })
          }
        } catch (error) {
          failed(deviceId, delivery, force, error)
        }
      }
      if (batch.length === 0) return
      let messages: DesiredMessage[]
      try {
        messages = signer.sign(commands)
      } catch (error) {
        for (const { deviceId, delivery, force } of batch) failed(deviceId, delivery, force, error)
        return
      }
      batch.forEach(({ block, ...item }, index) => {
        signed.push({ ...item, message: messages[index] as DesiredMessage, block: block ?? 0n })
      })
    })()
      .catch((error: unknown) => warn(`device batch not signed: ${messageOf(error)}`))
      .finally(() => {
        signing = false
      })
    track(task)
  }

  const send = ({ deviceId, delivery, force, message, state, block }: Signed) => {
    sending++
    const task = (async () => {
      try {
        await broker.publishDesired(message)
        const publishedAt = now()
        await store.markPublished(deviceId, message.version, Date.now())
        events.emit('device:desired', {
          deviceId,
          version: message.version,
          commandId: message.commandId,
          state,
          publishedAt,
          blockNumber: block,
        })
      } catch (error) {
        return failed(deviceId, delivery, force, error)
      }
      finished(deviceId, delivery)
    })().finally(() => {
      sending--
    })
    track(task)
  }

  const dispatch: DeviceDispatcher['dispatch'] = (id, { force = false } = {}) => {
    if (closed) return
    const deviceId = id.toLowerCase()
    const delivery = deliveries.get(deviceId)
    if (!delivery) {
      const fresh: Delivery = { state: 'queued', again: false, force, attempt: 0 }
      deliveries.set(deviceId, fresh)
      enqueue(deviceId, fresh)
    } else {
      delivery.force ||= force
      if (delivery.state === 'running') delivery.again = true
      if (delivery.state === 'waiting') {
        // Asked again (a new version, or the broker is back): try now rather than at the end of the backoff.
        clearTimeout(delivery.timer)
        delivery.timer = undefined
        enqueue(deviceId, delivery)
      }
    }
    schedulePump()
  }

  const sweep = async () => {
    let count = 0
    let after = ''
    for (;;) {
      const page = await store.unpublishedDevices(1_000, after)
      for (const device of page) dispatch(device.deviceId)
      count += page.length
      const last = page.at(-1)
      if (!last || page.length < 1_000) return count
      after = last.deviceId
    }
  }

  const stopCorrecting = (deviceId: string) => {
    const correction = corrections.get(deviceId)
    if (!correction) return
    clearTimeout(correction.timer)
    corrections.delete(deviceId)
  }

  /** Sends the device its desired state again now (forced: the broker may hold it, the car did not get it). */
  const correctNow = async (deviceId: string, correction: Correction): Promise<boolean> => {
    const device = await store.getDevice(deviceId)
    if (closed || corrections.get(deviceId) !== correction) return false
    // A report's version is the device's word (a car that lost its state reports less than the store keeps);
    // reconciliation goes by the store, which a report since may have moved on.
    const reported =
      correction.reason === 'report'
        ? correction.reportedVersion
        : Math.max(correction.reportedVersion, device?.reportedVersion ?? 0)
    if (!device?.desired || reported >= device.desiredVersion) {
      stopCorrecting(deviceId)
      return false
    }
    const waitMs = backoffDelay(++correction.waits, {
      baseMs: correctMinMs,
      maxMs: correctMaxMs,
      jitter: 'none',
    })
    correction.nextAt = Date.now() + waitMs
    // Not yet acknowledged by the broker: the outbox delivers it, no force needed.
    const force = device.publishedVersion >= device.desiredVersion
    dispatch(deviceId, { force })
    await store.markCorrected(deviceId)
    events.emit('device:corrected', {
      deviceId,
      desiredVersion: device.desiredVersion,
      reportedVersion: correction.reportedVersion,
      reason: correction.reason,
      attempt: ++correction.attempts,
    })
    return true
  }

  /**
   * A device is behind its desired version (as of its report, or of the store for reconciliation): send it
   * again at its next allowed time, unless a correction is already scheduled.
   */
  const behind = (deviceId: string, reportedVersion: number, reason: Correction['reason']) => {
    let correction = corrections.get(deviceId)
    if (!correction) {
      correction = {
        waits: 0,
        // The first correction waits too: a command published a moment ago may be on its way.
        nextAt: reason === 'report' ? Date.now() + correctMinMs : Date.now(),
        reportedVersion,
        reason,
        attempts: 0,
      }
      corrections.set(deviceId, correction)
    }
    correction.reportedVersion = reportedVersion
    correction.reason = reason
    if (correction.timer) return false
    const wait = correction.nextAt - Date.now()
    const entry = correction
    if (wait <= 0 && reason === 'reconcile') return true
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined
        void correctNow(deviceId, entry).catch((error: unknown) => {
          if (!closed) warn(`device ${deviceId}: not corrected: ${messageOf(error)}`, deviceId)
        })
      },
      Math.max(0, wait),
    )
    entry.timer.unref()
    return false
  }

  const reconcile = async () => {
    let count = 0
    let after = ''
    for (;;) {
      const page = await store.unacknowledgedDevices(Date.now() - thresholdMs, 1_000, after)
      for (const device of page) {
        if (closed) return count
        if (deliveries.has(device.deviceId)) continue
        if (!behind(device.deviceId, device.reportedVersion, 'reconcile')) continue
        const correction = corrections.get(device.deviceId)
        if (correction && (await correctNow(device.deviceId, correction))) count++
      }
      const last = page.at(-1)
      if (!last || page.length < 1_000) return count
      after = last.deviceId
    }
  }

  const sweepQuietly = () =>
    void sweep().catch((error: unknown) => {
      if (!closed) warn(`device outbox sweep failed: ${messageOf(error)}`)
    })

  return {
    dispatch,
    sweep,
    reconcile,
    async start() {
      offs.push(
        broker.onConnect(() => {
          sweepQuietly()
        }),
      )
      // Whatever happened to the retained message (cleared or replaced by another client, lost in a broker
      // restart), the device's signed report says where it is: one behind its desired version is sent that
      // version again, with backoff. A report that caught up ends the correction and its backoff.
      offs.push(
        broker.onReported((report) => {
          if (closed) return
          void store.getDevice(report.deviceId).then(
            (device) => {
              if (!device?.desired || report.version >= device.desiredVersion) {
                return void stopCorrecting(report.deviceId)
              }
              behind(report.deviceId, report.version, 'report')
            },
            (error: unknown) => {
              if (!closed)
                warn(
                  `device ${report.deviceId}: cannot read its desired state: ${messageOf(error)}`,
                  report.deviceId,
                )
            },
          )
        }),
      )
      if (reconcileMs > 0) {
        reconcileTimer = setInterval(() => {
          void reconcile().catch((error: unknown) => {
            if (!closed) warn(`device reconciliation failed: ${messageOf(error)}`)
          })
        }, reconcileMs)
        reconcileTimer.unref()
      }
      await sweep()
    },
    settled: () => (idle() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    pending: () => deliveries.size,
    async close() {
      closed = true
      clearInterval(reconcileTimer)
      for (const correction of corrections.values()) clearTimeout(correction.timer)
      corrections.clear()
      for (const off of offs.splice(0)) off()
      for (const delivery of deliveries.values()) clearTimeout(delivery.timer)
      queue.splice(0)
      signed.splice(0)
      await Promise.allSettled([...work])
      deliveries.clear()
      for (const resolve of waiters.splice(0)) resolve()
      waiters = []
    },
  }
}
