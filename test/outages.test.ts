import { randomBytes } from 'node:crypto'
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { LOCK_MESSAGE, parseDesired, pbjDomain, topics } from '@pbj/device'
import { connectAsync } from 'mqtt'
import { generatePrivateKey } from 'viem/accounts'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createMqttBroker } from '#pbj/actions/broker/createMqttBroker.js'
import { embeddedBrokerLogin } from '#pbj/actions/broker/embeddedBrokerLogin.js'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import type { BrokerConnection } from '#pbj/actions/broker/types.js'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { createDeviceDispatcher } from '#pbj/actions/devices/createDeviceDispatcher.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { createEmitter } from '#pbj/internal/createEmitter.js'
import { silentLogger } from '#pbj/internal/logger.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

const LOCK = { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }

/** Polls `check` until it holds; for states no event announces (a count reaching a number). */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** The loan's next lock time: first block at due + grace. */
async function lockAt(s: Scenario) {
  const loan = await s.loan()
  return loan.nextDueAt + loan.grace
}

/**
 * Pays installment 1 on time. The loan was opened before pbj started, so its payment event is what arms
 * the lock timer, as in the other end-to-end suites.
 */
async function payFirstInstallment(s: Scenario) {
  await s.reload(s.car.installment)
  await s.mine()
}

const carId = (s: Scenario) => s.car.deviceId.toLowerCase()
const lockRuns = (s: Scenario) => s.runs.filter((r) => r.run.functionName === 'lockOnMissedPayment')

// Delivery is what these tests are about: they run a plain device (no immobilizer, no warnings before a
// lock); the car's own safety rules are tested in immobilizer.test.ts.
describe('device commands through broker and device outages (embedded aedes)', () => {
  let s: Scenario
  afterEach(async () => s?.stop())

  it('a lock due while the broker is down succeeds as a run, waits in the outbox, and is applied once when the broker is back', async () => {
    s = await startScenario({ plainDevice: true })
    await payFirstInstallment(s)
    await s.stopBroker()
    const due = await s.mine(await lockAt(s))

    // the run succeeded on its first attempt: the broker being away is no longer the run's problem
    expect(lockRuns(s).map((r) => [r.run.status, r.run.attempt])).toEqual([['ok', 1]])
    const stored = await s.engine.store.getDevice(carId(s))
    expect(stored).toMatchObject({ desiredVersion: 1, publishedVersion: 0, desired: { locked: true } })
    expect((await s.engine.store.unpublishedDevices()).map((d) => d.deviceId)).toEqual([carId(s)])
    expect(s.desired).toEqual([])

    // a few backoff retries later it is still held, not dropped
    await sleep(500)
    expect(await s.engine.store.unpublishedDevices()).toHaveLength(1)
    expect(s.agent.state().locked).toBe(false)

    const locked = s.waitForCar(true)
    await s.startBroker()
    await locked
    expect(s.desired).toMatchObject([{ version: 1, blockNumber: due.number, state: { locked: true } }])
    expect(await s.engine.store.getDevice(carId(s))).toMatchObject({
      publishedVersion: 1,
      reportedVersion: 1,
    })
    expect(await s.engine.store.unpublishedDevices()).toEqual([])
    // exactly once, by the car's own records; and the run was never retried
    await sleep(300)
    const once = [{ version: 1, locked: true, commandId: stored?.commandId }]
    expect(s.applied).toMatchObject(once)
    expect(s.carLog()).toMatchObject(once)
    expect(lockRuns(s)).toHaveLength(1)
  })

  it('a car offline through lock, unlock and lock applies only the latest state, once, when it reconnects', async () => {
    s = await startScenario({ plainDevice: true })
    await payFirstInstallment(s)
    await s.stopCar()
    await s.mine(await lockAt(s)) // v1: locked
    await s.reload(s.car.installment)
    await s.mine() // v2: paid, unlocked
    await s.mine(await lockAt(s)) // v3: the next installment missed, locked again
    expect(s.desired.map((d) => [d.version, d.state.locked])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ])
    expect(s.applied).toEqual([])

    await s.startCar()
    await s.waitForCar(true)
    await sleep(300)
    expect(s.agent.state()).toMatchObject({ locked: true, version: 3 })
    expect(s.applied).toMatchObject([{ version: 3, locked: true }])
    expect(s.carLog()).toMatchObject([{ version: 3, locked: true }])
  })

  it('a car offline while the broker restarts and forgets its retained state still converges when it reconnects', async () => {
    s = await startScenario({ plainDevice: true })
    await payFirstInstallment(s)
    await s.stopCar()
    await s.mine(await lockAt(s))
    expect(s.desired).toMatchObject([{ version: 1 }])
    await s.stopBroker()
    await s.startBroker()

    // the car's first report says version 0 while version 1 was published: the engine publishes it again
    await s.startCar()
    await s.waitForCar(true)
    await sleep(300)
    expect(s.applied).toMatchObject([{ version: 1, locked: true }])
    expect(s.carLog()).toHaveLength(1)
  })

  it('an engine that crashed between the store write and the publish delivers it at its next start', async () => {
    // The lock is written straight into the store, for a loan that is current: delivery is the subject, so
    // the car does not check the loan itself (it would rightly refuse this lock), and the engine does not
    // reconcile with the chain (its start-up pass would rightly replace the lock with an unlock).
    const { desiredFromChain: _, ...noReconciliation } = immobilizerClass({ contract: 'CarLoan' })
    s = await startScenario({ plainDevice: true, carChecksLoan: false, deviceClass: noReconciliation })
    // The car stays offline until the new engine is up, so no report of it can prompt the delivery: only
    // the sweep at start can.
    await s.stopCar()
    await s.stopBroker()
    // what a run leaves behind if the process dies right after the store write
    await s.engine.store.setDesired(carId(s), LOCK, 'crash:0', Date.now(), 7n)
    expect(await s.engine.store.unpublishedDevices()).toHaveLength(1)

    await s.restartEngine(() => s.startBroker())
    await s.engine.idle()
    expect(s.desired).toMatchObject([{ version: 1, commandId: 'crash:0', blockNumber: 7n }])
    expect(await s.engine.store.unpublishedDevices()).toEqual([])
    await s.startCar()
    await s.waitForCar(true)
    await sleep(300)
    expect(s.applied).toMatchObject([{ version: 1, commandId: 'crash:0' }])
    expect(s.carLog()).toHaveLength(1)
  })

  it('a replayed desired message is not applied twice, and a restarted engine does not publish it again', async () => {
    s = await startScenario({ plainDevice: true })
    await payFirstInstallment(s)
    const locked = s.waitForCar(true)
    await s.mine(await lockAt(s))
    await locked
    expect(s.applied).toHaveLength(1)
    // The engine's login: only it may publish desired states on the embedded broker.
    const client = await connectAsync(s.stack.brokerUrl, embeddedBrokerLogin(s.stack.brokerUrl))
    const topic = topics(s.topicPrefix).desired(carId(s))
    // The real command as the broker retains it, operator's signature and all: only its version stops it.
    const captured = new Promise<Buffer>((resolve) =>
      client.once('message', (_t, payload) => resolve(payload)),
    )
    await client.subscribeAsync(topic, { qos: 1 })
    const replay = await captured
    await client.unsubscribeAsync(topic)
    await client.publishAsync(topic, replay, { qos: 1, retain: true })
    await client.publishAsync(topic, replay, { qos: 1 })
    await client.endAsync()
    await until(
      () => s.rejected.filter((r) => r.startsWith('stale version 1')).length === 2,
      5_000,
      'the car to refuse both replays',
    )
    expect(s.applied).toHaveLength(1)
    expect(s.carLog()).toHaveLength(1)

    await s.restartEngine()
    await s.engine.idle()
    expect(s.desired).toHaveLength(1)
  })
})

/**
 * A TCP proxy in front of Mosquitto that can be cut (every connection dropped, new ones refused) and
 * restored: a broker outage without touching the system's Mosquitto.
 */
async function startCuttableProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>()
  let cut = false
  const server = createServer((client) => {
    if (cut) return void client.destroy()
    const upstream = netConnect(target.port, target.host)
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true)
      sockets.add(socket)
      socket.on('error', () => {})
      socket.once('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const cutAll = () => {
    cut = true
    for (const socket of sockets) socket.destroy()
  }
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: cutAll,
    restore() {
      cut = false
    },
    close() {
      cutAll()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('device commands through an outage of Mosquitto (a cut connection)', () => {
  let s: Scenario
  let proxy: Awaited<ReturnType<typeof startCuttableProxy>>
  afterAll(async () => {
    if (s) {
      // Mosquitto keeps retained messages: leave nothing behind.
      const cleaner = await connectAsync('mqtt://127.0.0.1:1883', { protocolVersion: 5 })
      const names = topics(s.topicPrefix)
      await cleaner.publishAsync(names.desired(carId(s)), '', { qos: 1, retain: true })
      await cleaner.publishAsync(names.reported(carId(s)), '', { qos: 1, retain: true })
      await cleaner.endAsync()
      await s.stop()
    }
    await proxy?.close()
  })

  it('a lock due while Mosquitto is unreachable is delivered once when it is reachable again', async () => {
    proxy = await startCuttableProxy({ host: '127.0.0.1', port: 1883 })
    s = await startScenario({ brokerUrl: proxy.url, protocolVersion: 5, plainDevice: true })
    await payFirstInstallment(s)
    proxy.cut()
    const due = await s.mine(await lockAt(s))
    expect(lockRuns(s).map((r) => [r.run.status, r.run.attempt])).toEqual([['ok', 1]])
    expect(await s.engine.store.unpublishedDevices()).toHaveLength(1)
    expect(s.desired).toEqual([])

    const locked = s.waitForCar(true)
    proxy.restore()
    await locked
    expect(s.desired).toMatchObject([{ version: 1, blockNumber: due.number }])
    await sleep(300)
    expect(s.applied).toMatchObject([{ version: 1, locked: true }])
    expect(s.carLog()).toHaveLength(1)
  })
})

describe('device dispatcher with a fleet of 1,000 devices', () => {
  it('publishes a big sweep in parallel (bounded), holds it through an outage and delivers the latest state of every device', async () => {
    let broker = await startEmbeddedBroker()
    const store = createSqliteStore({ path: ':memory:' })
    const prefix = `pbjtest-${randomBytes(4).toString('hex')}`
    const fleet = await createMqttBroker({ url: broker.url, topicPrefix: prefix, logger: silentLogger })
    // The real connection, counting its publishes in flight to see the sweep's parallelism.
    let inFlight = 0
    let maxInFlight = 0
    const counted: BrokerConnection = {
      ...fleet,
      publishDesired: async (message) => {
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        try {
          await fleet.publishDesired(message)
        } finally {
          inFlight--
        }
      },
    }

    const events = createEmitter<EngineEvents>()
    const published: EngineEvents['device:desired'][] = []
    events.on('device:desired', (d) => published.push(d))
    const signer = createCommandSigner({
      operatorKey: generatePrivateKey(),
      domain: pbjDomain({ chainId: 31337, registry: `0x${randomBytes(20).toString('hex')}` }),
    })
    const dispatcher = createDeviceDispatcher({ store, broker: counted, events, signer, concurrency: 32 })
    const ids = Array.from({ length: 1_000 }, () => `0x${randomBytes(20).toString('hex')}`)
    try {
      for (const id of ids) await store.setDesired(id, LOCK, `${id}:lock`, Date.now(), 1n)
      const startedAt = performance.now()
      await dispatcher.start() // the start-up sweep finds all 1,000
      await dispatcher.settled()
      const sweepMs = performance.now() - startedAt
      expect(published).toHaveLength(1_000)
      expect(new Set(published.map((p) => p.deviceId)).size).toBe(1_000)
      expect(maxInFlight).toBeGreaterThan(1)
      expect(maxInFlight).toBeLessThanOrEqual(32)
      expect(await store.unpublishedDevices()).toEqual([])
      console.log(
        `[fleet] swept 1,000 devices in ${Math.round(sweepMs)} ms, ${maxInFlight} publishes at once`,
      )

      // the broker goes away; every car is unlocked meanwhile (version 2)
      await broker.close()
      for (const id of ids) {
        await store.setDesired(id, { locked: false, reason: 'paid' }, `${id}:unlock`, Date.now(), 2n)
        dispatcher.dispatch(id)
      }
      await dispatcher.settled()
      expect(dispatcher.pending()).toBe(1_000)
      expect(await store.unpublishedDevices(2_000)).toHaveLength(1_000)
      expect(published).toHaveLength(1_000)

      broker = await startEmbeddedBroker({ port: broker.port })
      await until(() => dispatcher.pending() === 0, 15_000, 'the outbox to drain')
      expect(published).toHaveLength(2_000)
      expect(await store.unpublishedDevices()).toEqual([])

      // what a car connecting now gets: the latest state of every device, retained at the broker
      const reader = await connectAsync(broker.url, broker.engineLogin)
      const retained = new Map<string, number>()
      reader.on('message', (_topic, payload) => {
        const parsed = parseDesired(payload)
        if (parsed.ok) retained.set(parsed.value.deviceId, parsed.value.version)
      })
      await reader.subscribeAsync(`${prefix}/devices/+/desired`, { qos: 1 })
      await until(() => retained.size === 1_000, 5_000, '1,000 retained messages')
      await reader.endAsync()
      expect([...new Set(retained.values())]).toEqual([2])
    } finally {
      await dispatcher.close()
      await fleet.close()
      await broker.close()
      await store.close()
    }
  })
})
