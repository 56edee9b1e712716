import type { DesiredMessage, UnsignedCommand } from '@pbj/device'
import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import type { DeviceDesired, DeviceRecord } from '../../core/device.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import type { Store } from '../../core/store.js'
import type { Emitter } from '../../internal/createEmitter.js'
import { retryClassOf } from '../../internal/errors.js'
import type { Logger } from '../../internal/logger.js'
import { now } from '../../internal/now.js'
import type { BrokerConnection } from '../broker/types.js'
import type { CommandSigner } from './createCommandSigner.js'

/**
 * Options of {@link createOutboxDelivery}: the dispatcher's, resolved (see DeviceDispatcherOptions).
 *
 * @example
 * const options: OutboxDeliveryOptions = {
 *   store, broker, events, signer, logger, chainTime: () => 0,
 *   concurrency: 64, maxBatch: 1_024, backoff: { minMs: 100, maxMs: 5_000 },
 * }
 */
export type OutboxDeliveryOptions = {
  store: Pick<Store, 'getDevices' | 'markPublished' | 'unpublishedDevices'>
  broker: Pick<BrokerConnection, 'publishDesired'>
  events: Pick<Emitter<Pick<EngineEvents, 'device:desired'>>, 'emit'>
  logger: Pick<Logger, 'warn'>
  signer: Pick<CommandSigner, 'sign'>
  chainTime: (blockNumber: bigint | null) => number | Promise<number>
  concurrency: number
  maxBatch: number
  backoff: { minMs: number; maxMs: number }
}

/**
 * The dispatcher's outbox: publishes desired states to the broker. See {@link createOutboxDelivery}.
 *
 * @example
 * outbox.dispatch('0xcar…')
 * await outbox.settled()
 */
export type OutboxDelivery = {
  /** See DeviceDispatcher.dispatch. */
  dispatch(deviceId: string, options?: { force?: boolean }): void
  /** Dispatches every device the store says is not published at its desired version; returns how many. */
  sweep(): Promise<number>
  /** True while the device is queued, being signed or published, or waiting to retry. */
  has(deviceId: string): boolean
  /** Resolves when no publish is queued or in flight (devices waiting to retry do not count). */
  settled(): Promise<void>
  /** Devices not yet delivered: queued, in flight, or waiting to retry. */
  pending(): number
  /** Stops retrying and waits for the publishes in flight. */
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
 * Delivers desired states from the store's outbox to the broker: one publish per device in flight, so
 * versions reach the broker in order (the retained message must end on the latest); failed publishes
 * retried with backoff and jitter until the broker is back; 'device:desired' emitted when the broker
 * acknowledges.
 *
 * Commands are signed at publish time, in batches: every device dispatched in the same tick, and every
 * one dispatched while the previous batch was being signed, goes into one batch with one signature (see
 * createCommandSigner). So one car's command is signed and sent at once, and a thousand cars' commands from
 * one block cost one signature; a command published again (after an outage, for a reconnecting car) is
 * signed afresh and so is valid for its full window.
 *
 * @example
 * const outbox = createOutboxDelivery({ store, broker, events, signer, logger, chainTime, concurrency: 64,
 *   maxBatch: 1_024, backoff: { minMs: 100, maxMs: 5_000 } })
 * outbox.dispatch(deviceId)
 */
export function createOutboxDelivery(options: OutboxDeliveryOptions): OutboxDelivery {
  const { store, broker, events, signer, logger, chainTime, concurrency, maxBatch } = options
  const { minMs, maxMs } = options.backoff
  const deliveries = new Map<string, Delivery>()
  const queue: string[] = []
  const signed: Signed[] = []
  // Batches being signed and publishes in flight, for close() to wait on.
  const work = new Set<Promise<void>>()
  // Publishes not yet finished (for settled), and those of them the broker has not taken yet (the slots).
  let sending = 0
  let publishing = 0
  let signing = false
  let pumpScheduled = false
  let waiters: (() => void)[] = []
  let closed = false

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
    while (!closed && publishing < concurrency && signed.length > 0) send(signed.shift() as Signed)
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
      return logger.warn(`device ${deviceId}: not published: ${messageOf(error)}`, { deviceId })
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
      const taken: { deviceId: string; delivery: Delivery; force: boolean }[] = []
      for (const deviceId of ids) {
        const delivery = deliveries.get(deviceId)
        if (delivery?.state !== 'queued') continue
        delivery.state = 'running'
        taken.push({ deviceId, delivery, force: delivery.force })
        delivery.force = false
        delivery.again = false
      }
      if (taken.length === 0) return
      // One read for the whole batch: a block's thousand commands cost one statement, not a thousand awaits.
      let records: Map<string, DeviceRecord>
      try {
        const devices = await store.getDevices(taken.map((t) => t.deviceId))
        records = new Map(devices.map((device) => [device.deviceId, device]))
      } catch (error) {
        for (const { deviceId, delivery, force } of taken) failed(deviceId, delivery, force, error)
        return
      }
      for (const { deviceId, delivery, force } of taken) {
        const device = records.get(deviceId)
        try {
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
              // The car places the command by its block (blocks can share a timestamp); 0 when none caused it.
              chainBlock: block === null ? 0 : Number(block),
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
      .catch((error: unknown) => logger.warn(`device batch not signed: ${messageOf(error)}`, {}))
      .finally(() => {
        signing = false
      })
    track(task)
  }

  const send = ({ deviceId, delivery, force, message, state, block }: Signed) => {
    sending++
    publishing++
    let holding = true
    // Once the broker has it, its slot goes to the next command at once, not a turn later when
    // the acknowledgement is committed. The device stays running until then (one publish per device).
    const release = () => {
      if (!holding) return
      holding = false
      publishing--
      pump()
    }
    const task = (async () => {
      try {
        await broker.publishDesired(message)
        const publishedAt = now()
        release()
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
      if (holding) publishing--
      holding = false
    })
    track(task)
  }

  const dispatch: OutboxDelivery['dispatch'] = (id, { force = false } = {}) => {
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

  return {
    dispatch,
    sweep,
    has: (deviceId) => deliveries.has(deviceId),
    settled: () => (idle() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    pending: () => deliveries.size,
    async close() {
      closed = true
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
