import { randomBytes } from 'node:crypto'
import { connect as netConnect } from 'node:net'
import {
  addressOf,
  createDeviceAgent,
  createTypedHashes,
  type DesiredMessage,
  type DesiredState,
  type DeviceAgent,
  LOCK_MESSAGE,
  pbjDomain,
  type ReportedMessage,
  signDigest,
  topics,
} from '@pbj/device'
import { connectAsync } from 'mqtt'
import { generatePrivateKey } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RegistryFixture, startRegistry } from '../../../../../test/helpers/startRegistry.js'
import { BrokerError, PbjError } from '../../internal/errors.js'
import { silentLogger } from '../../internal/logger.js'
import { createCommandSigner } from '../devices/createCommandSigner.js'
import { createMqttBroker } from './createMqttBroker.js'
import { embeddedBrokerLogin } from './embeddedBrokerLogin.js'
import { startEmbeddedBroker } from './startEmbeddedBroker.js'
import type { BrokerConnection } from './types.js'

const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883'

// A chain with a DeviceRegistry: cars here are registered with the operator allowed, commands are signed by
// the operator, and the engine verifies reports in the registry's domain.
let registry: RegistryFixture
beforeAll(async () => {
  registry = await startRegistry()
})
afterAll(async () => registry?.stop())

type Target = { name: string; protocolVersion: 4 | 5 }

describe.each<Target>([
  { name: 'embedded aedes (MQTT 3.1.1)', protocolVersion: 4 },
  { name: 'Mosquitto (MQTT 5)', protocolVersion: 5 },
])('MQTT broker connection against $name', ({ name, protocolVersion }) => {
  const prefix = `pbjtest-${randomBytes(4).toString('hex')}`
  const names = topics(prefix)
  const usedDevices = new Set<string>()
  const agents: DeviceAgent[] = []
  const connections: BrokerConnection[] = []
  let url = MOSQUITTO_URL
  let closeBroker = async () => {}

  beforeAll(async () => {
    if (protocolVersion === 4) {
      const broker = await startEmbeddedBroker()
      url = broker.url
      closeBroker = broker.close
    }
  })

  afterEach(async () => {
    await Promise.all([...agents.splice(0), ...connections.splice(0)].map((it) => it.close()))
  })

  afterAll(async () => {
    // Mosquitto persists retained messages; leave nothing behind.
    const cleaner = await connectAsync(url, { protocolVersion, ...embeddedBrokerLogin(url) })
    for (const id of usedDevices) {
      await cleaner.publishAsync(names.desired(id), '', { qos: 1, retain: true })
      await cleaner.publishAsync(names.reported(id), '', { qos: 1, retain: true })
    }
    await cleaner.endAsync()
    await closeBroker()
  })

  const keys = new Map<string, string>()
  const newDevice = async () => {
    const { deviceId, deviceKey } = await registry.newDevice()
    usedDevices.add(deviceId)
    keys.set(deviceId, deviceKey)
    return deviceId
  }

  const connectEngine = async (warnings: string[] = []) => {
    const connection = await createMqttBroker({
      url,
      protocolVersion,
      topicPrefix: prefix,
      domain: registry.domain,
      logger: { ...silentLogger, warn: (message) => warnings.push(message) },
    })
    connections.push(connection)
    return connection
  }

  const startCar = async (deviceId: string) => {
    const agent = await createDeviceAgent({
      brokerUrl: url,
      protocolVersion,
      topicPrefix: prefix,
      deviceKey: keys.get(deviceId) as string,
      chain: registry.chain,
    })
    agents.push(agent)
    await agent.ready
    return agent
  }

  const desired = (deviceId: string, version: number, state: DesiredState): DesiredMessage =>
    registry.sign({ deviceId, version, state })

  /** Collects reports and resolves waiters as they arrive, without polling. */
  const collect = (connection: BrokerConnection) => {
    const received: ReportedMessage[] = []
    const waiters = new Set<() => void>()
    const stop = connection.onReported((report) => {
      received.push(report)
      for (const wake of waiters) wake()
    })
    const next = (match: (report: ReportedMessage) => boolean) =>
      new Promise<ReportedMessage>((resolve, reject) => {
        const check = () => {
          const found = received.find(match)
          if (!found) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(found)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error('no matching report within 5000 ms'))
        }, 5_000)
        waiters.add(check)
        check()
      })
    return { received, next, stop }
  }

  it('locks a car and unlocks it, the car report being the acknowledgement', async () => {
    const engine = await connectEngine()
    const reports = collect(engine)
    const deviceId = await newDevice()
    const car = await startCar(deviceId)

    await engine.publishDesired(
      desired(deviceId, 1, { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }),
    )
    const ack = await reports.next((r) => r.deviceId === deviceId && r.version === 1)
    expect(ack).toMatchObject({
      type: 'reported',
      commandId: 'cmd-1',
      state: { locked: true, message: LOCK_MESSAGE },
    })
    expect(car.state().locked).toBe(true)

    await engine.publishDesired(desired(deviceId, 2, { locked: false }))
    expect((await reports.next((r) => r.deviceId === deviceId && r.version === 2)).state).toEqual({
      locked: false,
    })
    expect(car.state()).toEqual({ locked: false, version: 2, commandId: 'cmd-2' })
  })

  it('measures publishDesired → report round trips', async () => {
    const engine = await connectEngine()
    const reports = collect(engine)
    const deviceId = await newDevice()
    await startCar(deviceId)
    const samples: number[] = []
    for (let version = 1; version <= 31; version++) {
      const startedAt = performance.now()
      const acked = reports.next((r) => r.deviceId === deviceId && r.version === version)
      await engine.publishDesired(
        desired(deviceId, version, { locked: version % 2 === 1, message: LOCK_MESSAGE }),
      )
      await acked
      // The first round warms up JIT and sockets.
      if (version > 1) samples.push(performance.now() - startedAt)
      // One command per payment event, not a burst: let the sockets go idle as they would.
      await sleep(50)
    }
    samples.sort((a, b) => a - b)
    const at = (q: number) => (samples[Math.floor(q * (samples.length - 1))] ?? Number.NaN).toFixed(2)
    console.log(
      `[${name}] engine → car → engine round trip over ${samples.length} commands: min ${at(0)} ms, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`,
    )
    expect(samples).toHaveLength(30)
  })

  it('leaves the desired state retained for a car that is offline, latest version wins', async () => {
    const engine = await connectEngine()
    const reports = collect(engine)
    const deviceId = await newDevice()
    await engine.publishDesired(desired(deviceId, 1, { locked: true, message: LOCK_MESSAGE }))
    await engine.publishDesired(desired(deviceId, 2, { locked: false }))
    await engine.publishDesired(desired(deviceId, 3, { locked: true, message: LOCK_MESSAGE }))

    const car = await startCar(deviceId)
    await reports.next((r) => r.deviceId === deviceId && r.version === 3)
    expect(car.state()).toEqual({ locked: true, message: LOCK_MESSAGE, version: 3, commandId: 'cmd-3' })
  })

  it('gives a new listener the retained last report of each car', async () => {
    const deviceId = await newDevice()
    const first = await connectEngine()
    const firstReports = collect(first)
    await startCar(deviceId)
    await first.publishDesired(desired(deviceId, 1, { locked: true, message: LOCK_MESSAGE }))
    await firstReports.next((r) => r.deviceId === deviceId && r.version === 1)

    // e.g. the engine restarted: it learns every car's state without asking.
    const second = await connectEngine()
    const secondReports = collect(second)
    const retained = await secondReports.next((r) => r.deviceId === deviceId)
    expect(retained).toMatchObject({ version: 1, state: { locked: true, message: LOCK_MESSAGE } })
  })

  it('drops malformed, spoofed, forged and tampered reports with a warning', async () => {
    const warnings: string[] = []
    const engine = await connectEngine(warnings)
    const reports = collect(engine)
    const deviceId = await newDevice()
    const other = await newDevice()
    const hashes = createTypedHashes(registry.domain)
    const signed = (report: Omit<ReportedMessage, 'signature'>, key: string): ReportedMessage => ({
      ...report,
      signature: signDigest(hashes.reportDigest(report), key),
    })
    const carKey = keys.get(deviceId) as string
    const attacker = generatePrivateKey()
    // A client that may publish anywhere (the engine's login on the embedded broker): signatures still hold.
    const raw = await connectAsync(url, { protocolVersion, ...embeddedBrokerLogin(url) })
    const unsigned: Omit<ReportedMessage, 'signature'> = {
      type: 'reported',
      deviceId,
      version: 1,
      commandId: 'c',
      state: { locked: false },
      appliedAt: Date.now(),
    }
    const report = signed(unsigned, carKey)
    const send = (topic: string, payload: unknown) =>
      raw.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 })
    await send(names.reported(deviceId), '{"type":"reported"')
    await send(names.reported(deviceId), { ...report, state: { locked: 'no' } })
    await send(names.reported(other), report)
    // a report as every car sent it before reports were signed
    await send(names.reported(deviceId), unsigned)
    // a publisher with broker access but not the car's key: signed, but by someone else
    await send(
      names.reported(deviceId),
      signed({ ...unsigned, version: 3, state: { locked: true } }, attacker),
    )
    // the car's genuine report with its state changed on the way
    await send(names.reported(deviceId), {
      ...signed({ ...unsigned, version: 4 }, carKey),
      state: { locked: true },
    })
    // A good report after the bad ones proves the bad ones were processed and dropped.
    await send(names.reported(deviceId), signed({ ...unsigned, version: 2 }, carKey))
    await reports.next((r) => r.deviceId === deviceId && r.version === 2)
    await raw.endAsync()

    // Other tests' cars left retained reports under this prefix; only this device matters here.
    expect(reports.received.filter((r) => r.deviceId === deviceId)).toEqual([
      signed({ ...unsigned, version: 2 }, carKey),
    ])
    expect(warnings).toEqual([
      expect.stringMatching(/^dropped malformed report on .*\/reported: payload is not JSON/),
      expect.stringMatching(/^dropped malformed report on .*: state\.locked: .*expected boolean/),
      expect.stringMatching(new RegExp(`^dropped report on .*: it claims to be from ${deviceId}$`)),
      expect.stringMatching(/^dropped malformed report on .*: signature: /),
      `dropped report on ${names.reported(deviceId)} (version 3): it is signed by ${addressOf(attacker)}, not by the device`,
      expect.stringMatching(
        /^dropped report on .* \(version 4\): it is signed by 0x[0-9a-f]{40}, not by the device$/,
      ),
    ])
  })

  it('drops every report when it has no domain to verify them in, and says so once', async () => {
    const warnings: string[] = []
    const engine = await createMqttBroker({
      url,
      protocolVersion,
      topicPrefix: prefix,
      logger: { ...silentLogger, warn: (message) => warnings.push(message) },
    })
    connections.push(engine)
    const reports = collect(engine)
    const deviceId = await newDevice()
    await startCar(deviceId)
    await engine.publishDesired(desired(deviceId, 1, { locked: false, reason: 'paid' }))
    await sleep(300)
    expect(reports.received).toEqual([])
    expect(warnings.filter((w) => w.startsWith('dropping device reports'))).toHaveLength(1)
  })

  it('stops delivering to a listener once it unsubscribes', async () => {
    const engine = await connectEngine()
    const kept = collect(engine)
    const dropped = collect(engine)
    dropped.stop()
    const deviceId = await newDevice()
    await startCar(deviceId)
    await engine.publishDesired(desired(deviceId, 1, { locked: true }))
    await kept.next((r) => r.deviceId === deviceId && r.version === 1)
    expect(dropped.received.filter((r) => r.deviceId === deviceId)).toEqual([])
  })

  it('refuses to publish an invalid desired message', async () => {
    const engine = await connectEngine()
    const bad = { ...desired(await newDevice(), 1, { locked: true }), version: 0 }
    const error = await engine.publishDesired(bad).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PbjError)
    expect(error).not.toBeInstanceOf(BrokerError)
    expect((error as PbjError).shortMessage).toMatch(/invalid desired message/)
  })
})

describe('MQTT broker connection failures', () => {
  it('rejects with a BrokerError naming the url when nothing listens', async () => {
    const broker = await startEmbeddedBroker()
    await broker.close()
    const error = await createMqttBroker({ url: broker.url, connectTimeoutMs: 300 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BrokerError)
    expect((error as BrokerError).shortMessage).toBe(
      `cannot connect to MQTT broker at ${broker.url} within 300 ms`,
    )
    expect((error as BrokerError).details).toMatch(/ECONNREFUSED/)
  })

  it('rejects publishDesired with a BrokerError at once when the broker goes away, and says when it is back', async () => {
    const broker = await startEmbeddedBroker()
    const warnings: string[] = []
    const engine = await createMqttBroker({
      url: broker.url,
      publishTimeoutMs: 5_000,
      logger: { ...silentLogger, warn: (w) => warnings.push(w) },
    })
    let connects = 0
    engine.onConnect(() => connects++)
    // The broker health check follows both connections: down once, up once when they are back.
    const states: boolean[] = []
    engine.onConnectionChange((connected) => states.push(connected))
    await broker.close()
    const deviceId = `0x${randomBytes(20).toString('hex')}`
    // No car listens here: any key and registry make a well-formed signed message.
    const signer = createCommandSigner({
      operatorKey: generatePrivateKey(),
      domain: pbjDomain({ chainId: 31337, registry: `0x${randomBytes(20).toString('hex')}` }),
    })
    const [message] = signer.sign([
      { deviceId, version: 1, commandId: 'c', state: { locked: true }, chainTime: 0 },
    ])
    if (!message) throw new Error('no message signed')
    const startedAt = performance.now()
    const error = await engine.publishDesired(message).catch((e: unknown) => e)
    // Fails fast instead of waiting out the 5 s PUBACK deadline: the caller's outbox decides what next.
    expect(performance.now() - startedAt).toBeLessThan(1_000)
    expect(error).toBeInstanceOf(BrokerError)
    expect((error as BrokerError).retry).toBe('retryable')
    expect((error as BrokerError).shortMessage).toMatch(/not connected to MQTT broker|dropped before/)
    expect(connects).toBe(0)

    const again = await startEmbeddedBroker({ port: broker.port })
    await new Promise<void>((resolve) => engine.onConnect(resolve))
    expect(connects).toBe(1)
    await waitUntil(() => states.at(-1) === true)
    expect(states).toEqual([false, true])
    await engine.publishDesired(message)
    await engine.close()
    await again.close()
  })

  it('embedded broker close() disconnects clients and frees the port', async () => {
    const broker = await startEmbeddedBroker()
    const client = await connectAsync(broker.url, { reconnectPeriod: 0, ...broker.engineLogin })
    const disconnected = new Promise<void>((resolve) => client.once('close', () => resolve()))
    // A socket that never sends CONNECT must not keep the server open either.
    const silent = netConnect(broker.port, '127.0.0.1')
    silent.on('error', () => {})
    await new Promise<void>((resolve) => silent.once('connect', () => resolve()))

    await broker.close()
    await disconnected
    await broker.close()
    const refused = await new Promise<string>((resolve) => {
      const probe = netConnect(broker.port, '127.0.0.1')
      probe.once('connect', () => resolve('connected'))
      probe.once('error', (error: Error & { code?: string }) => resolve(error.code ?? error.message))
    })
    expect(refused).toBe('ECONNREFUSED')
    await client.endAsync(true)
  })
})

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `condition` every 10 ms for at most 5 s. */
async function waitUntil(condition: () => boolean) {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s')
    await new Promise((r) => setTimeout(r, 10))
  }
}
