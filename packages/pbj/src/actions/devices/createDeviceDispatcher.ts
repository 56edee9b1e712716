import type { EngineEvents } from '../../engine/types.js'
import type { Emitter } from '../../internal/createEmitter.js'
import { retryClassOf } from '../../internal/errors.js'
import { now } from '../../internal/now.js'
import type { Store } from '../../store/types.js'
import type { BrokerConnection } from '../broker/types.js'

/**
 * Options of {@link createDeviceDispatcher}.
 *
 * @example
 * const options: DeviceDispatcherOptions = { store, broker, events, concurrency: 64 }
 */
export type DeviceDispatcherOptions = {
  store: Pick<Store, 'getDevice' | 'markPublished' | 'unpublishedDevices'>
  broker: Pick<BrokerConnection, 'publishDesired' | 'onConnect' | 'onReported'>
  /** Receives 'device:desired' when the broker acknowledges a publish, and 'warning'. */
  events: Pick<Emitter<Pick<EngineEvents, 'device:desired' | 'warning'>>, 'emit'>
  /** Publishes in flight at once; a sweep of a thousand devices goes out this many at a time. Default 64. */
  concurrency?: number
  /** Retry delays after a failed publish, doubling from `minMs` up to `maxMs`, ±50% jitter. 100 ms → 5 s. */
  backoff?: { minMs?: number; maxMs?: number }
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
  /** Sweeps now and again at every broker reconnect; republishes to devices that report an older version. */
  start(): Promise<void>
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

/**
 * Owns delivery of desired state, as an outbox: a run only makes the desired state durable and calls
 * `dispatch`, so a broker outage never fails the run. The dispatcher publishes at once (no polling), keeps
 * one publish per device in flight so versions reach the broker in order (the retained message must end
 * on the latest), retries failed publishes with backoff and jitter until the broker is back, sweeps the
 * outbox when the broker reconnects and at start (a crash between the store write and the publish), and
 * emits 'device:desired' when the broker acknowledges.
 *
 * @example
 * const dispatcher = createDeviceDispatcher({ store, broker, events })
 * await dispatcher.start()
 * await store.setDesired(deviceId, { locked: true }, commandId, Date.now(), blockNumber)
 * dispatcher.dispatch(deviceId)
 */
export function createDeviceDispatcher(options: DeviceDispatcherOptions): DeviceDispatcher {
  const { store, broker, events } = options
  const concurrency = Math.max(1, options.concurrency ?? 64)
  const minMs = options.backoff?.minMs ?? 100
  const maxMs = options.backoff?.maxMs ?? 5_000
  const deliveries = new Map<string, Delivery>()
  const queue: string[] = []
  const inFlight = new Set<Promise<void>>()
  let waiters: (() => void)[] = []
  let closed = false
  const offs: (() => void)[] = []
  // When the current broker session began: a state acknowledged before it may be gone from the broker.
  let connectedAt = Date.now()

  const warn = (message: string) => events.emit('warning', message)

  const settle = () => {
    if (inFlight.size > 0 || queue.length > 0) return
    for (const resolve of waiters.splice(0)) resolve()
  }

  const enqueue = (deviceId: string, delivery: Delivery) => {
    delivery.state = 'queued'
    queue.push(deviceId)
  }

  const pump = () => {
    while (!closed && inFlight.size < concurrency && queue.length > 0) {
      const deviceId = queue.shift() as string
      const delivery = deliveries.get(deviceId)
      if (delivery?.state !== 'queued') continue
      delivery.state = 'running'
      const work = deliver(deviceId, delivery).finally(() => {
        inFlight.delete(work)
        pump()
        settle()
      })
      inFlight.add(work)
    }
    settle()
  }

  const deliver = async (deviceId: string, delivery: Delivery) => {
    const force = delivery.force
    delivery.force = false
    delivery.again = false
    try {
      await publish(deviceId, force)
    } catch (error) {
      if (closed) return void deliveries.delete(deviceId)
      if (retryClassOf(error) !== 'retryable') {
        // A bug (an invalid stored state), not an outage: retrying cannot help. The next sweep tries again.
        deliveries.delete(deviceId)
        return warn(`device ${deviceId}: not published: ${messageOf(error)}`)
      }
      delivery.force ||= force
      delivery.attempt++
      delivery.state = 'waiting'
      const base = Math.min(maxMs, minMs * 2 ** (delivery.attempt - 1))
      const delay = Math.min(maxMs, base * (0.5 + Math.random()))
      delivery.timer = setTimeout(() => {
        delivery.timer = undefined
        if (closed || delivery.state !== 'waiting') return
        enqueue(deviceId, delivery)
        pump()
      }, delay)
      delivery.timer.unref()
      return
    }
    delivery.attempt = 0
    if (delivery.again && !closed) enqueue(deviceId, delivery)
    else deliveries.delete(deviceId)
  }

  const publish = async (deviceId: string, force: boolean) => {
    const device = await store.getDevice(deviceId)
    if (!device?.desired || device.commandId === null) return
    if (!force && device.publishedVersion >= device.desiredVersion) return
    const version = device.desiredVersion
    await broker.publishDesired({
      type: 'desired',
      deviceId,
      version,
      commandId: device.commandId,
      state: device.desired,
      issuedAt: Date.now(),
    })
    const publishedAt = now()
    await store.markPublished(deviceId, version, Date.now())
    events.emit('device:desired', {
      deviceId,
      version,
      commandId: device.commandId,
      state: device.desired,
      publishedAt,
      blockNumber: device.desiredBlock ?? 0n,
    })
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
    pump()
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

  const sweepQuietly = () =>
    void sweep().catch((error: unknown) => {
      if (!closed) warn(`device outbox sweep failed: ${messageOf(error)}`)
    })

  return {
    dispatch,
    sweep,
    async start() {
      connectedAt = Date.now()
      offs.push(
        broker.onConnect(() => {
          connectedAt = Date.now()
          sweepQuietly()
        }),
      )
      // A device reporting an older version than one acknowledged in an earlier broker session may have
      // missed it: the broker can have restarted and lost its retained copy while the device was offline.
      // One acknowledged in this session is still retained, so a stale report (the device's retained one,
      // or one sent as it reconnects) needs nothing. Reports carrying an error are refusals, answered by
      // nothing, or a device that refuses would be sent the same state forever.
      offs.push(
        broker.onReported((report) => {
          if (report.error !== undefined || deliveries.has(report.deviceId)) return
          void store.getDevice(report.deviceId).then(
            (device) => {
              if (!device?.desired || report.version >= device.desiredVersion) return
              if (device.publishedVersion < device.desiredVersion) return dispatch(report.deviceId)
              if ((device.publishedAt ?? 0) < connectedAt) dispatch(report.deviceId, { force: true })
            },
            (error: unknown) => {
              if (!closed)
                warn(`device ${report.deviceId}: cannot read its desired state: ${messageOf(error)}`)
            },
          )
        }),
      )
      await sweep()
    },
    settled: () =>
      inFlight.size === 0 && queue.length === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push(resolve)),
    pending: () => deliveries.size,
    async close() {
      closed = true
      for (const off of offs.splice(0)) off()
      for (const delivery of deliveries.values()) clearTimeout(delivery.timer)
      queue.splice(0)
      await Promise.allSettled([...inFlight])
      deliveries.clear()
      for (const resolve of waiters.splice(0)) resolve()
      waiters = []
    },
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
