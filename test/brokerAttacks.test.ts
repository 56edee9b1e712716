// Outside MQTT clients against the broker pbj runs on, tried as an attacker would: on the embedded broker
// they cannot log in as the car, command it, forge its reports, read its commands or take over its session;
// and whatever happens to the retained command (cleared, replaced, lost in a broker restart) the car still
// converges to its desired state, because the engine sends it again when the car's signed report is behind.
// Real Anvil, real aedes, the real engine and a simulated car (a plain device: delivery is the subject here).
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { deviceLogin, pbjDomain, topics } from '@pbj/device'
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt'
import { generatePrivateKey } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createMqttBroker } from '#pbj/actions/broker/createMqttBroker.js'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { createDeviceDispatcher } from '#pbj/actions/devices/createDeviceDispatcher.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { createEmitter } from '#pbj/internal/createEmitter.js'
import { silentLogger } from '#pbj/internal/logger.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

const carId = (s: Scenario) => s.car.deviceId.toLowerCase()

/** Connects once (no retries); resolves with the client, or rejects with the CONNACK refusal. */
async function attempt(url: string, options: IClientOptions, clients: MqttClient[]) {
  const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options })
  clients.push(client)
  return client
}

const refusalCode = (promise: Promise<unknown>) =>
  promise.then(
    () => 'connected',
    (error: { code?: unknown }) => error.code,
  )

/** The retained payload of a topic as a client with the engine's login sees it ('' when none). */
async function retained(url: string, login: IClientOptions, topic: string): Promise<string> {
  const reader = await connectAsync(url, { reconnectPeriod: 0, ...login })
  try {
    const got = new Promise<string>((resolve) => reader.once('message', (_t, p) => resolve(p.toString())))
    await reader.subscribeAsync(topic, { qos: 1 })
    // A retained message comes with the SUBACK; nothing after it means there is none.
    return await Promise.race([got, sleep(300).then(() => '')])
  } finally {
    await reader.endAsync(true)
  }
}

describe('the embedded broker refuses outside clients (aedes with the ACL of docs/mosquitto)', () => {
  let s: Scenario
  const clients: MqttClient[] = []
  let url: string
  let t: ReturnType<typeof topics>
  /** Reports the engine received from the car: the car sends one at every (re)connect. */
  let reports = 0
  // A device with a key of its own: a real login, just not the car's.
  const intruderKey = generatePrivateKey()
  const intruder = () => deviceLogin(intruderKey)

  beforeAll(async () => {
    s = await startScenario({ plainDevice: true })
    url = s.stack.brokerUrl
    t = topics(s.topicPrefix)
    s.engine.events.on('device:reported', () => reports++)
  })
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.endAsync(true)))
    await s?.stop()
  })

  it('refuses anonymous clients, a wrong engine password, and the car id without the car key', async () => {
    const car = carId(s)
    const stolen = deviceLogin(s.car.devicePrivateKey, Date.now() - 10 * 60_000)
    const tries: [string, IClientOptions][] = [
      ['anonymous', {}],
      ['engine, wrong password', { username: 'pbj-engine', password: 'guess' }],
      ['car id, a password', { clientId: car, username: car, password: 'secret' }],
      ['car id, signed by another key', { clientId: car, username: car, password: intruder().password }],
      ['car id, a login 10 min old', { clientId: car, ...stolen }],
    ]
    const codes = await Promise.all(tries.map(([, o]) => refusalCode(attempt(url, o, clients))))
    // 5: not authorized (no credentials); 4: bad user name or password.
    expect(Object.fromEntries(tries.map(([name], i) => [name, codes[i]]))).toEqual({
      anonymous: 5,
      'engine, wrong password': 4,
      'car id, a password': 4,
      'car id, signed by another key': 4,
      'car id, a login 10 min old': 4,
    })
  })

  it("refuses a device that takes the car's client id, so it cannot knock the car offline", async () => {
    const reportsBefore = reports
    // 2: identifier rejected. A device's client id must be its own id.
    expect(await refusalCode(attempt(url, { clientId: carId(s), ...intruder() }, clients))).toBe(2)
    expect(await refusalCode(attempt(url, { clientId: `car-${carId(s)}`, ...intruder() }, clients))).toBe(2)
    // The car's session was not taken over: it did not have to reconnect (it reports on every connect).
    await sleep(300)
    expect(reports).toBe(reportsBefore)
  })

  it('refuses a device commanding the car, forging its report, or reading its commands', async () => {
    const login = intruder()
    const other = await attempt(url, { clientId: login.username, ...login }, clients)
    // Subscriptions to the car's commands: SUBACK 128 (failure), nothing retained is delivered.
    const received: string[] = []
    other.on('message', (topic) => received.push(topic))
    const refused = await other
      .subscribeAsync([t.desired(carId(s)), `${s.topicPrefix}/#`, '#'], { qos: 1 })
      .then(
        () => 'granted',
        (error: { packet?: { granted?: unknown } }) => error.packet?.granted,
      )
    expect(refused).toEqual([128, 128, 128])
    // Its own desired topic is allowed.
    expect((await other.subscribeAsync(t.desired(login.username), { qos: 1 }))[0]?.qos).toBe(1)

    // A publish to the car's desired topic: refused, and aedes closes the connection (MQTT 3.1.1 cannot NACK).
    const closed = new Promise<void>((resolve) => other.once('close', () => resolve()))
    other.publishAsync(t.desired(carId(s)), '', { qos: 1, retain: true }).catch(() => {})
    await closed
    expect(received).toEqual([])

    // And a forged report on the car's reported topic, from a fresh connection.
    const again = await attempt(url, { clientId: login.username, ...deviceLogin(intruderKey) }, clients)
    const closedAgain = new Promise<void>((resolve) => again.once('close', () => resolve()))
    again.publishAsync(t.reported(carId(s)), 'forged', { qos: 1, retain: true }).catch(() => {})
    await closedAgain

    // What the broker holds for the car is still the engine's command and the car's own report.
    const engine = s.engineLogin ?? {}
    expect(await retained(url, engine, t.reported(carId(s)))).toContain(`"deviceId":"${carId(s)}"`)
  })

  it('still lets the engine lock the car after all of it', async () => {
    await s.lockTheCar()
    expect(s.agent.state()).toMatchObject({ locked: true })
    expect(s.rejected).toEqual([])
  })
})

describe('the car converges whatever happens to its retained command (embedded broker)', () => {
  let s: Scenario
  afterEach(async () => s?.stop())

  it('a paid car whose retained unlock was cleared while it was offline still unlocks when it reconnects', async () => {
    s = await startScenario({ plainDevice: true })
    const corrected: EngineEvents['device:corrected'][] = []
    s.engine.events.on('device:corrected', (c) => corrected.push(c))
    await s.lockTheCar()
    await s.stopCar()
    await s.reload(s.car.installment)
    await s.mine() // paid: unlock, version 2, retained at the broker
    expect(s.desired.map((d) => [d.version, d.state.locked])).toEqual([
      [1, true],
      [2, false],
    ])
    // Someone who can publish on the broker clears the retained unlock (an empty retained message).
    const cleaner = await connectAsync(s.stack.brokerUrl, s.engineLogin ?? {})
    await cleaner.publishAsync(topics(s.topicPrefix).desired(carId(s)), '', { qos: 1, retain: true })
    await cleaner.endAsync()
    expect(
      await retained(s.stack.brokerUrl, s.engineLogin ?? {}, topics(s.topicPrefix).desired(carId(s))),
    ).toBe('')

    // The car comes back locked at version 1 and says so; the engine sends version 2 again.
    const unlocked = waitForVersion(s, 2)
    await s.startCar()
    await unlocked
    expect(s.agent.state()).toMatchObject({ locked: false, version: 2 })
    expect(corrected).toMatchObject([{ deviceId: carId(s), desiredVersion: 2, reason: 'report' }])
    // Caught up: its count of corrections (what `pbj devices` shows while it differs) is back to 0.
    expect(await s.engine.store.getDevice(carId(s))).toMatchObject({
      reportedVersion: 2,
      desiredVersion: 2,
      corrections: 0,
    })
  })

  it('a car whose retained command was replaced by junk refuses the junk and is sent its command again', async () => {
    s = await startScenario({ plainDevice: true })
    await s.reload(s.car.installment)
    await s.mine()
    await s.stopCar()
    const loan = await s.loan()
    await s.mine(loan.nextDueAt + loan.grace) // lock, version 1, while the car is offline
    const junk = await connectAsync(s.stack.brokerUrl, s.engineLogin ?? {})
    await junk.publishAsync(topics(s.topicPrefix).desired(carId(s)), '{"type":"desired","version":9}', {
      qos: 1,
      retain: true,
    })
    await junk.endAsync()
    const locked = waitForVersion(s, 1)
    await s.startCar()
    await locked
    expect(s.agent.state()).toMatchObject({ locked: true, version: 1 })
    expect(s.rejected.length).toBeGreaterThan(0)
  })

  it('a car offline while the broker restarts (its retained command lost) converges when it reconnects', async () => {
    s = await startScenario({ plainDevice: true })
    await s.lockTheCar()
    await s.stopCar()
    await s.reload(s.car.installment)
    await s.mine() // unlock, version 2
    await s.stopBroker()
    await s.startBroker() // a new broker: nothing retained, a new engine password (found in-process)
    const unlocked = waitForVersion(s, 2)
    await s.startCar()
    await unlocked
    expect(s.agent.state()).toMatchObject({ locked: false, version: 2 })
  })
})

/** Resolves when the engine has recorded the car's report of `version` (the car applied it). */
function waitForVersion(s: Scenario, version: number) {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the car did not report version ${version}`)), 15_000)
    const off = s.engine.events.on('device:reported', (r) => {
      if (r.deviceId !== carId(s) || r.version < version) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

describe('periodic reconciliation (real aedes and SQLite store, a device whose reports are lost)', () => {
  it('sends the desired state again to a device that has not reported it, until it does', async () => {
    const broker = await startEmbeddedBroker()
    const store = createSqliteStore({ path: ':memory:' })
    const prefix = `pbjtest-${randomBytes(4).toString('hex')}`
    const connection = await createMqttBroker({ url: broker.url, topicPrefix: prefix, logger: silentLogger })
    const events = createEmitter<EngineEvents>()
    const corrected: EngineEvents['device:corrected'][] = []
    events.on('device:corrected', (c) => corrected.push(c))
    const signer = createCommandSigner({
      operatorKey: generatePrivateKey(),
      domain: pbjDomain({ chainId: 31337, registry: `0x${randomBytes(20).toString('hex')}` }),
    })
    const dispatcher = createDeviceDispatcher({
      store,
      broker: connection,
      events,
      signer,
      correction: { minMs: 50, maxMs: 200 },
      // Driven by the test through reconcile(); the interval is off.
      reconcile: { intervalMs: 0, thresholdMs: 0 },
    })
    // The device: logged in with its own key, it hears its commands but its reports never reach the engine.
    const key = generatePrivateKey()
    const login = deviceLogin(key)
    const device = await connectAsync(broker.url, { clientId: login.username, ...login })
    const received: number[] = []
    device.on('message', (_t, payload) => received.push(JSON.parse(payload.toString()).version))
    await device.subscribeAsync(topics(prefix).desired(login.username), { qos: 1 })
    try {
      await dispatcher.start()
      await store.setDesired(login.username, { locked: true }, 'lock-1', Date.now(), 1n)
      dispatcher.dispatch(login.username)
      await dispatcher.settled()
      await until(() => received.length === 1)

      // Published and acknowledged by the broker, never reported: each pass corrects it (with backoff).
      expect(await dispatcher.reconcile()).toBe(1)
      await dispatcher.settled()
      await until(() => received.length === 2)
      await sleep(250)
      expect(await dispatcher.reconcile()).toBe(1)
      await dispatcher.settled()
      await until(() => received.length === 3)
      expect(received).toEqual([1, 1, 1])
      expect(corrected).toMatchObject([
        { deviceId: login.username, desiredVersion: 1, reportedVersion: 0, reason: 'reconcile', attempt: 1 },
        { reason: 'reconcile', attempt: 2 },
      ])

      expect(await store.getDevice(login.username)).toMatchObject({ corrections: 2 })
      // Within its backoff it is not sent again; once it reports the version, it is left alone.
      expect(await dispatcher.reconcile()).toBe(0)
      await store.recordReported(login.username, { locked: true }, 1, Date.now())
      await sleep(250)
      expect(await dispatcher.reconcile()).toBe(0)
      expect(received).toHaveLength(3)
    } finally {
      await device.endAsync(true)
      await dispatcher.close()
      await connection.close()
      await broker.close()
      await store.close()
    }
  })
})

async function until(check: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await sleep(10)
  }
}
