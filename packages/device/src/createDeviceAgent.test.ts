import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectAsync, type MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RegistryFixture, startRegistry } from '../../../test/helpers/startRegistry.js'
import { embeddedBrokerLogin } from '../../pbj/src/actions/broker/embeddedBrokerLogin.js'
import { startEmbeddedBroker } from '../../pbj/src/actions/broker/startEmbeddedBroker.js'
import {
  createDeviceAgent,
  type DeviceAgent,
  type DeviceAgentOptions,
  type DeviceState,
} from './createDeviceAgent.js'
import {
  type DesiredState,
  encode,
  LOCK_MESSAGE,
  parseReported,
  type ReportedMessage,
  topics,
} from './protocol.js'
import { startSimulatedCar } from './simulatedCar.js'

const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883'

// One chain with a DeviceRegistry for the file: every car here is registered, with the operator allowed,
// and every command is signed by the operator (test/commandAuth.test.ts covers the refusals).
let registry: RegistryFixture
beforeAll(async () => {
  registry = await startRegistry()
})
afterAll(async () => registry?.stop())

type Target = { name: string; protocolVersion: 4 | 5 }

describe.each<Target>([
  { name: 'embedded aedes (MQTT 3.1.1)', protocolVersion: 4 },
  { name: 'Mosquitto (MQTT 5)', protocolVersion: 5 },
])('device agent against $name', ({ name, protocolVersion }) => {
  const prefix = `pbjtest-${randomBytes(4).toString('hex')}`
  const names = topics(prefix)
  const usedDevices = new Set<string>()
  const agents: DeviceAgent[] = []
  const reports: ReportedMessage[] = []
  const onReport = new Set<() => void>()
  let url = MOSQUITTO_URL
  let closeBroker = async () => {}
  let engine: MqttClient
  let listener: MqttClient
  let tempDir: string

  beforeAll(async () => {
    if (protocolVersion === 4) {
      const broker = await startEmbeddedBroker()
      url = broker.url
      closeBroker = broker.close
    }
    // Publisher and listener on separate sockets, as the engine does: Mosquitto does not set TCP_NODELAY,
    // and a report queued behind the PUBACK of the command on one socket waits ~40 ms for a delayed ACK.
    // With the embedded broker's engine login: only the engine may publish desired states there.
    const options = { protocolVersion, reconnectPeriod: 250, ...embeddedBrokerLogin(url) }
    engine = await connectAsync(url, { ...options, clientId: `engine-${prefix}-pub` })
    listener = await connectAsync(url, { ...options, clientId: `engine-${prefix}-sub` })
    for (const client of [engine, listener]) (client.stream as Socket).setNoDelay(true)
    listener.on('message', (_topic, payload) => {
      const parsed = parseReported(payload)
      if (!parsed.ok) return
      reports.push(parsed.value)
      for (const wake of onReport) wake()
    })
    await listener.subscribeAsync(names.allReported, { qos: 1 })
    tempDir = await mkdtemp(join(tmpdir(), 'pbj-device-'))
  })

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()))
  })

  afterAll(async () => {
    // Mosquitto persists retained messages; leave nothing behind.
    for (const id of usedDevices) {
      await engine.publishAsync(names.desired(id), '', { qos: 1, retain: true })
      await engine.publishAsync(names.reported(id), '', { qos: 1, retain: true })
    }
    await Promise.all([engine.endAsync(), listener.endAsync()])
    await closeBroker()
    await rm(tempDir, { recursive: true, force: true })
  })

  const keys = new Map<string, string>()
  const newDevice = async () => {
    const { deviceId, deviceKey } = await registry.newDevice()
    usedDevices.add(deviceId)
    keys.set(deviceId, deviceKey)
    return deviceId
  }

  const startAgent = async (
    options: Omit<DeviceAgentOptions, 'brokerUrl' | 'protocolVersion' | 'deviceKey' | 'chain'> & {
      deviceId: string
    },
    via = url,
  ) => {
    const agent = await createDeviceAgent({
      brokerUrl: via,
      protocolVersion,
      topicPrefix: prefix,
      deviceKey: keys.get(options.deviceId) as string,
      chain: registry.chain,
      ...options,
    })
    agents.push(agent)
    await agent.ready
    return agent
  }

  const publish = (deviceId: string, version: number, state: DesiredState, commandId = `cmd-${version}`) => {
    const message = registry.sign({ deviceId, version, state, commandId })
    return engine.publishAsync(names.desired(deviceId), encode(message), { qos: 1, retain: true })
  }

  // Event-driven rather than polled, so the latency test measures the broker and not a timer.
  const waitForReport = (match: (report: ReportedMessage) => boolean, timeoutMs = 5_000) =>
    new Promise<ReportedMessage>((resolve, reject) => {
      const check = () => {
        const found = reports.find(match)
        if (!found) return
        onReport.delete(check)
        clearTimeout(timer)
        resolve(found)
      }
      const timer = setTimeout(() => {
        onReport.delete(check)
        reject(new Error(`no matching report within ${timeoutMs} ms`))
      }, timeoutMs)
      onReport.add(check)
      check()
    })

  const reportFor = (deviceId: string, version: number) =>
    waitForReport((r) => r.deviceId === deviceId && r.version === version && r.error === undefined)

  it('locks then unlocks, acknowledging each with a retained report', async () => {
    const deviceId = await newDevice()
    const changes: DeviceState[] = []
    const agent = await startAgent({ deviceId, onChange: (state) => changes.push(state) })
    // The car announces itself on connect, before any command.
    expect((await reportFor(deviceId, 0)).state).toEqual({ locked: false })

    await publish(deviceId, 1, { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE })
    const lockAck = await reportFor(deviceId, 1)
    expect(lockAck).toMatchObject({ commandId: 'cmd-1', state: { locked: true, message: LOCK_MESSAGE } })
    expect(agent.state()).toEqual({ locked: true, message: LOCK_MESSAGE, version: 1, commandId: 'cmd-1' })

    await publish(deviceId, 2, { locked: false })
    expect((await reportFor(deviceId, 2)).state).toEqual({ locked: false })
    expect(agent.state()).toEqual({ locked: false, version: 2, commandId: 'cmd-2' })
    expect(changes.map((c) => [c.version, c.locked])).toEqual([
      [1, true],
      [2, false],
    ])

    // A late subscriber sees the ack because it is retained.
    const late = await connectAsync(url, { protocolVersion, ...embeddedBrokerLogin(url) })
    const retained = new Promise<ReportedMessage>((resolve) =>
      late.on('message', (_t, payload) => {
        const parsed = parseReported(payload)
        if (parsed.ok) resolve(parsed.value)
      }),
    )
    await late.subscribeAsync(names.reported(deviceId), { qos: 1 })
    expect((await retained).version).toBe(2)
    await late.endAsync()
  })

  it('measures command → acknowledgement round trips', async () => {
    const deviceId = await newDevice()
    await startAgent({ deviceId })
    const samples: number[] = []
    for (let version = 1; version <= 31; version++) {
      const startedAt = performance.now()
      await publish(deviceId, version, { locked: version % 2 === 1, message: LOCK_MESSAGE })
      await reportFor(deviceId, version)
      // The first round warms up JIT and sockets.
      if (version > 1) samples.push(performance.now() - startedAt)
      // A car gets a command per missed or made payment, not a burst; let TCP go idle in between as it
      // would (delayed ACKs fire after 40 ms).
      await sleep(50)
    }
    samples.sort((a, b) => a - b)
    const at = (q: number) => (samples[Math.floor(q * (samples.length - 1))] ?? Number.NaN).toFixed(2)
    console.log(
      `[${name}] device round trip over ${samples.length} commands: min ${at(0)} ms, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`,
    )
    expect(samples).toHaveLength(30)
  })

  it('gives an offline car only the latest retained command when it connects', async () => {
    const deviceId = await newDevice()
    await publish(deviceId, 1, { locked: true, message: LOCK_MESSAGE })
    await publish(deviceId, 2, { locked: false })
    await publish(deviceId, 3, { locked: true, message: LOCK_MESSAGE })
    const changes: DeviceState[] = []
    const agent = await startAgent({ deviceId, onChange: (state) => changes.push(state) })
    await reportFor(deviceId, 3)
    expect(agent.state()).toEqual({ locked: true, message: LOCK_MESSAGE, version: 3, commandId: 'cmd-3' })
    // No lock/unlock flapping through the commands it missed.
    expect(changes.map((c) => c.version)).toEqual([3])
  })

  it('catches up after its network drops and comes back', async () => {
    const target = new URL(url)
    const proxy = await startProxy(Number(target.port))
    const deviceId = await newDevice()
    const changes: DeviceState[] = []
    const agent = await startAgent({ deviceId, onChange: (state) => changes.push(state) }, proxy.url)
    await publish(deviceId, 1, { locked: false })
    await reportFor(deviceId, 1)

    await proxy.cut()
    await publish(deviceId, 2, { locked: true, message: LOCK_MESSAGE })
    await publish(deviceId, 3, { locked: true, message: 'still locked' })
    await proxy.restore()

    await reportFor(deviceId, 3)
    expect(agent.state()).toEqual({ locked: true, message: 'still locked', version: 3, commandId: 'cmd-3' })
    expect(changes.map((c) => c.version)).toEqual([1, 3])
    await agent.close()
    await proxy.close()
  })

  it('ignores stale and replayed versions, with a reason', async () => {
    const deviceId = await newDevice()
    const rejected: string[] = []
    const agent = await startAgent({ deviceId, onRejected: (reason) => rejected.push(reason) })
    await publish(deviceId, 1, { locked: true, message: LOCK_MESSAGE })
    await publish(deviceId, 2, { locked: false })
    await reportFor(deviceId, 2)
    const reportsBefore = reports.filter((r) => r.deviceId === deviceId).length

    // an older version under a new command id is stale; the very command applied again is a replay
    await publish(deviceId, 1, { locked: true, message: LOCK_MESSAGE }, 'other-1')
    await publish(deviceId, 2, { locked: false })
    await waitFor(() => rejected.length === 2)
    expect(rejected).toEqual([
      'stale version 1: version 2 already applied',
      'stale version 2: version 2 already applied (replay of command cmd-2)',
    ])
    expect(agent.state()).toEqual({ locked: false, version: 2, commandId: 'cmd-2' })
    await sleep(100)
    expect(reports.filter((r) => r.deviceId === deviceId)).toHaveLength(reportsBefore)
  })

  it('rejects malformed payloads with a reason and keeps its state', async () => {
    const deviceId = await newDevice()
    const rejected: { reason: string; raw: unknown }[] = []
    const changes: DeviceState[] = []
    const agent = await startAgent({
      deviceId,
      onRejected: (reason, raw) => rejected.push({ reason, raw }),
      onChange: (state) => changes.push(state),
    })
    await publish(deviceId, 1, { locked: true, message: LOCK_MESSAGE })
    await reportFor(deviceId, 1)

    const topic = names.desired(deviceId)
    await engine.publishAsync(topic, 'unlock please', { qos: 1 })
    await engine.publishAsync(
      topic,
      JSON.stringify({
        type: 'desired',
        deviceId,
        version: 'two',
        commandId: 'x',
        state: { locked: false },
        issuedAt: 1,
      }),
      { qos: 1 },
    )
    const other = await newDevice()
    await engine.publishAsync(
      topic,
      encode(registry.sign({ deviceId: other, version: 9, commandId: 'x', state: { locked: false } })),
      { qos: 1 },
    )
    await waitFor(() => rejected.length === 3)
    // A message naming the operator is judged in its own lane, so it may be refused before the junk.
    const notJson = rejected.find((r) => /^malformed desired message: payload is not JSON/.test(r.reason))
    expect(notJson?.raw).toBeInstanceOf(Uint8Array)
    expect(rejected.map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^malformed desired message: version: .*expected number/),
        expect.stringMatching(/^desired message is for 0x[0-9a-f]{40}, not this car$/),
      ]),
    )
    expect(agent.state()).toEqual({ locked: true, message: LOCK_MESSAGE, version: 1, commandId: 'cmd-1' })
    expect(changes).toHaveLength(1)
    // The engine hears why, in a report that still carries the unchanged state.
    const errorReport = await waitForReport(
      (r) => r.deviceId === deviceId && r.error?.includes('version') === true,
    )
    expect(errorReport).toMatchObject({ version: 1, state: { locked: true } })
  })

  it('shows the missed-payment message on the simulated car while locked', async () => {
    const deviceId = await newDevice()
    const lines: string[] = []
    const car = await startSimulatedCar({
      brokerUrl: url,
      protocolVersion,
      topicPrefix: prefix,
      deviceKey: keys.get(deviceId) as string,
      chain: registry.chain,
      // the dashboard of a plain lock: the immobilizer's warnings are tested in immobilizer.test.ts
      immobilizer: false,
      print: (line) => lines.push(line),
    })
    agents.push(car)
    await car.ready
    await publish(deviceId, 1, { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE })
    await reportFor(deviceId, 1)
    expect(car.state().message).toBe(LOCK_MESSAGE)
    await publish(deviceId, 2, { locked: false })
    await reportFor(deviceId, 2)
    expect(car.state().message).toBeUndefined()
    const short = `${deviceId.slice(0, 10)}…${deviceId.slice(-4)}`
    expect(lines).toEqual([`🔒 car ${short}: ${LOCK_MESSAGE}`, `🔓 car ${short}: unlocked`])
  })

  it('keeps its applied version across a restart when given a stateFile', async () => {
    const deviceId = await newDevice()
    const stateFile = join(tempDir, `${deviceId}-${protocolVersion}.json`)
    const first = await startAgent({ deviceId, stateFile })
    await publish(deviceId, 1, { locked: false })
    await publish(deviceId, 2, { locked: true, message: LOCK_MESSAGE })
    await reportFor(deviceId, 2)
    await first.close()
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({ version: 2, locked: true })

    const rejected: string[] = []
    const second = await startAgent({ deviceId, stateFile, onRejected: (reason) => rejected.push(reason) })
    expect(second.state()).toEqual({ locked: true, message: LOCK_MESSAGE, version: 2, commandId: 'cmd-2' })
    // The retained v2 comes back on subscribe and is recognised as already applied.
    await waitFor(() => rejected.length === 1)
    expect(rejected[0]).toBe('stale version 2: version 2 already applied (replay of command cmd-2)')
  })
})

async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(1)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A TCP relay to the broker whose link can be cut and restored, to simulate a car losing its network. */
async function startProxy(brokerPort: number) {
  const links = new Set<Socket>()
  const onConnection = (car: Socket) => {
    const broker = netConnect(brokerPort, '127.0.0.1')
    for (const socket of [car, broker]) {
      socket.setNoDelay(true)
      links.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => {
        links.delete(socket)
        car.destroy()
        broker.destroy()
      })
    }
    car.pipe(broker).pipe(car)
  }
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve) =>
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    )
  let server = createServer(onConnection)
  const port = await listen(server, 0)
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const socket of links) socket.destroy()
    })
  return {
    url: `mqtt://127.0.0.1:${port}`,
    cut: stop,
    restore: async () => {
      server = createServer(onConnection)
      await listen(server, port)
    },
    close: stop,
  }
}
