import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type AppliedEntry,
  createDeviceAgent,
  type DesiredMessage,
  type DeviceAgent,
  encode,
  type RefusalCode,
  topics,
} from '@pbj/device'
import { connectAsync, type MqttClient } from 'mqtt'
import { embeddedBrokerLogin } from '#pbj/actions/broker/embeddedBrokerLogin.js'
import type { RegisteredDevice, RegistryFixture } from './startRegistry.js'

/**
 * What a car made of one message: applied, or refused with its code and reason. `commandId` is the
 * message's own ('?' for junk without one), to match outcomes to what was sent.
 */
export type CarOutcome = {
  commandId: string
  applied?: AppliedEntry
  refused?: { reason: string; code: RefusalCode }
}

/** A car started by {@link startCarOnBroker}. */
export type CarOnBroker = Awaited<ReturnType<typeof startCarOnBroker>>

/**
 * A car (a real device agent verifying against the registry) on a broker, with its own records: every
 * message ends as one outcome, applied or refused, and what it applied is in its log file. `publisher` has
 * access to the car's desired topic (the engine's login on the embedded broker): only the car's own checks
 * stand between it and the car.
 *
 * @example
 * const car = await startCarOnBroker({ registry, device, brokerUrl: broker.url, protocolVersion: 4, topicPrefix, dir })
 * const outcome = await car.send(forged) // { commandId, refused: { code: 'bad-signature', … } }
 */
export async function startCarOnBroker(options: {
  registry: RegistryFixture
  device: RegisteredDevice
  brokerUrl: string
  protocolVersion: 4 | 5
  topicPrefix: string
  dir: string
}) {
  const outcomes: CarOutcome[] = []
  const wakers = new Set<() => void>()
  const logFile = join(options.dir, `${options.device.deviceId}.log`)
  const record = (outcome: CarOutcome) => {
    outcomes.push(outcome)
    for (const wake of wakers) wake()
  }
  const agent: DeviceAgent = await createDeviceAgent({
    brokerUrl: options.brokerUrl,
    protocolVersion: options.protocolVersion,
    topicPrefix: options.topicPrefix,
    deviceKey: options.device.deviceKey,
    chain: options.registry.chain,
    logFile,
    onApplied: (applied) => record({ commandId: applied.commandId, applied }),
    onRejected: (reason, raw, code) => record({ commandId: commandIdOf(raw), refused: { reason, code } }),
    logger: { warn: () => {} },
  })
  await agent.ready
  const publisher = await connectAsync(options.brokerUrl, {
    protocolVersion: options.protocolVersion,
    ...embeddedBrokerLogin(options.brokerUrl),
  })
  const topic = topics(options.topicPrefix).desired(options.device.deviceId)
  /** Resolves once the car has `count` outcomes. */
  const outcomesReach = (count: number, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (outcomes.length < count) return
        wakers.delete(check)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        wakers.delete(check)
        reject(new Error(`the car reached ${outcomes.length} outcomes, not ${count}, within ${timeoutMs} ms`))
      }, timeoutMs)
      wakers.add(check)
      check()
    })
  return {
    agent,
    outcomes,
    topic,
    publisher,
    /** The car's own log of what it applied: one line per command. */
    log: (): AppliedEntry[] => {
      let text = ''
      try {
        text = readFileSync(logFile, 'utf8')
      } catch {}
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AppliedEntry)
    },
    /**
     * Publishes one message (as `publisher`, or as `client`), and returns what the car made of it.
     */
    async send(
      payload: string | Buffer | DesiredMessage,
      client: MqttClient = publisher,
    ): Promise<CarOutcome> {
      const before = outcomes.length
      const bytes = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : encode(payload)
      await client.publishAsync(topic, bytes, { qos: 1 })
      await outcomesReach(before + 1)
      return outcomes[before] as CarOutcome
    },
    outcomesReach,
    async close() {
      // Mosquitto keeps retained messages: leave nothing behind.
      const names = topics(options.topicPrefix)
      await publisher.publishAsync(names.desired(options.device.deviceId), '', { qos: 1, retain: true })
      await publisher.publishAsync(names.reported(options.device.deviceId), '', { qos: 1, retain: true })
      await publisher.endAsync()
      await agent.close()
    },
  }
}

/** The command id of a refused message; '?' for junk without one. */
function commandIdOf(raw: unknown): string {
  if (raw instanceof Uint8Array) {
    try {
      const id = (JSON.parse(Buffer.from(raw).toString('utf8')) as { commandId?: unknown } | null)?.commandId
      return typeof id === 'string' ? id : '?'
    } catch {
      return '?'
    }
  }
  const id = (raw as { commandId?: unknown } | null)?.commandId
  return typeof id === 'string' ? id : '?'
}
