// pbj's MQTT topic layout behind Mosquitto with the documented config and ACL (docs/mosquitto): the engine
// logs in and commands the car end to end; a device reads only its own commands and writes only its own
// reports; a client without credentials gets nowhere. A private Mosquitto per run: the system one on
// 127.0.0.1:1883 is never touched.
import { LOCK_MESSAGE, topics } from '@pbj/device'
import { connectAsync, type MqttClient } from 'mqtt'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mosquittoBinary, startMosquitto, type TestMosquitto } from './helpers/startMosquitto.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

if (!mosquittoBinary) {
  console.warn(
    'mosquitto is not installed (looked in /usr/sbin, /usr/local/sbin and on PATH): skipping its ACL tests',
  )
}

const t = topics('pbj')
const carKey = generatePrivateKey()
const carId = privateKeyToAddress(carKey).toLowerCase()
const otherId = privateKeyToAddress(generatePrivateKey()).toLowerCase()
const secrets = {
  pbj: 'engine-secret',
  watcher: 'watcher-secret',
  commander: 'commander-secret',
  [carId]: 'car-secret',
  [otherId]: 'other-car-secret',
}
// The test's own client with the engine's rights: logging in as `pbj` would take over the engine's session,
// its username being its client id (use_username_as_clientid).
const watcherAcl = ['watcher', 'commander']
  .map((user) => `user ${user}\ntopic write pbj/devices/+/desired\ntopic read pbj/devices/+/reported`)
  .join('\n')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.skipIf(!mosquittoBinary)('Mosquitto with the documented config and ACL (docs/mosquitto)', () => {
  let broker: TestMosquitto
  let s: Scenario
  /** A client with the engine's rights, reading every report: to see what reached the broker. */
  let reports: MqttClient
  const seenReports: { topic: string; payload: string }[] = []
  const clients: MqttClient[] = []

  const login = async (username: string | undefined, protocolVersion: 4 | 5, password?: string) => {
    const client = await connectAsync(broker.url, {
      protocolVersion,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      clientId: `test-${username ?? 'anonymous'}-${Math.random().toString(36).slice(2, 8)}`,
      ...(username === undefined ? {} : { username, password: password ?? secrets[username] }),
    })
    clients.push(client)
    return client
  }

  /**
   * Waits until everything `client` sent before has been routed: Mosquitto handles one connection's packets
   * in order and routes each as it comes, so once a report sent after them reaches the engine's user, a
   * forbidden publish sent before it would have been delivered too.
   */
  const barrier = async (client: MqttClient, deviceId: string) => {
    const token = `barrier-${Math.random().toString(36).slice(2)}`
    const seen = new Promise<void>((resolve) => {
      const check = (topic: string, payload: Buffer) => {
        if (topic !== t.reported(deviceId) || payload.toString() !== token) return
        reports.off('message', check)
        resolve()
      }
      reports.on('message', check)
    })
    await client.publishAsync(t.reported(deviceId), token, { qos: 1 })
    await seen
    // The other sockets' deliveries of the same moment.
    await sleep(100)
  }

  beforeAll(async () => {
    broker = await startMosquitto({
      users: secrets,
      hashedHere: { fallback: 'fallback-secret' },
      aclExtra: watcherAcl,
    })
    s = await startScenario({
      brokerUrl: broker.url,
      protocolVersion: 5,
      topicPrefix: 'pbj',
      brokerAuth: { username: 'pbj', password: secrets.pbj as string },
      carAuth: { username: carId, password: secrets[carId] as string },
      devicePrivateKey: carKey,
    })
    reports = await login('watcher', 5)
    reports.on('message', (topic, payload) => seenReports.push({ topic, payload: payload.toString() }))
    await reports.subscribeAsync(t.allReported, { qos: 1 })
  })
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.endAsync(true)))
    await s?.stop()
    await broker?.stop()
  })

  it.each([4, 5] as const)(
    'refuses anonymous clients and wrong passwords at connect (MQTT %s)',
    async (version) => {
      // 5: "not authorized" in MQTT 3.1.1; 134/135: "bad user name or password" / "not authorized" in MQTT 5.
      const refused = version === 4 ? [4, 5] : [134, 135]
      for (const [username, password] of [
        [undefined, undefined],
        ['pbj', 'wrong'],
        [carId, 'wrong'],
        [carId, secrets[otherId]],
        ['nobody', 'secret'],
      ] as const) {
        const error = await login(username, version, password).then(
          () => new Error(`${username ?? 'anonymous'} got in`),
          (e: unknown) => e as { code?: number },
        )
        expect(refused, `${username ?? 'anonymous'}/${password}`).toContain((error as { code?: number }).code)
      }
    },
  )

  it('lets the engine, logged in, lock the car through the ACL and hear its report', async () => {
    // A payment arms the lock timer (the loan was opened before the engine started), then it falls due.
    await s.lockTheCar()
    expect(s.agent.state()).toMatchObject({ locked: true, message: LOCK_MESSAGE })
    // The report came back through the broker to the engine (read access to reported).
    await vi.waitFor(
      async () => {
        const device = await s.engine.store.getDevice(carId)
        expect(device).toMatchObject({ desired: { locked: true }, reported: { locked: true } })
        expect(device?.publishedVersion).toBe(device?.desiredVersion)
        expect(device?.reportedVersion).toBe(device?.desiredVersion)
      },
      { timeout: 5_000, interval: 20 },
    )
  })

  it.each([4, 5] as const)(
    "does not let a device command another car, nor read another car's commands (MQTT %s)",
    async (version) => {
      const applied = s.applied.length
      const other = await login(otherId, version)
      const received: string[] = []
      other.on('message', (topic) => received.push(topic))
      // The car's lock is retained on its desired topic: a subscription allowed to read it would get it now.
      await other.subscribeAsync([t.desired(carId), 'pbj/#'], { qos: 1 })
      const forged = JSON.stringify({
        type: 'desired',
        deviceId: carId,
        version: 99,
        state: { locked: false },
      })
      const publish = other.publishAsync(t.desired(carId), forged, { qos: 1 })
      // MQTT 5 tells the publisher (PUBACK 135, not authorized); MQTT 3.1.1 has no way to, and drops it.
      if (version === 5) await expect(publish).rejects.toMatchObject({ code: 135 })
      else await publish
      await barrier(other, otherId)
      // The car never saw it: a delivered message, even a malformed one, would be applied or rejected.
      expect(s.rejected).toEqual([])
      expect(s.applied).toHaveLength(applied)
      expect(s.agent.state().locked).toBe(true)
      // Its own commands still reach it through `pbj/#`; nothing of the other car's ever did.
      const engineUser = await login('commander', 5)
      await engineUser.publishAsync(t.desired(otherId), 'for the other car', { qos: 1 })
      await vi.waitFor(() => expect(received).toContain(t.desired(otherId)), { timeout: 5_000, interval: 20 })
      expect(received).toEqual([t.desired(otherId)])
    },
  )

  /**
   * Runs `attack` as a client logged in as the car. The car is offline meanwhile: its username is its client
   * id, so the two would take each other's session over (what use_username_as_clientid is for).
   */
  const asTheCar = async (attack: (client: MqttClient) => Promise<void>) => {
    await s.stopCar()
    const client = await login(carId, 5)
    try {
      await attack(client)
    } finally {
      await client.endAsync()
      const reported = seenReports.length
      await s.startCar()
      // Its (re)connect report: the car is back as it was.
      await vi.waitFor(() => expect(seenReports.length).toBeGreaterThan(reported), { timeout: 5_000 })
    }
  }

  it('does not let a device command itself: only the engine writes desired state', async () => {
    const applied = s.applied.length
    await asTheCar(async (self) => {
      const forged = JSON.stringify({
        type: 'desired',
        deviceId: carId,
        version: 100,
        state: { locked: false },
      })
      // Retained: had it got through, the car would find it when it comes back.
      await expect(
        self.publishAsync(t.desired(carId), forged, { qos: 1, retain: true }),
      ).rejects.toMatchObject({ code: 135 })
      await barrier(self, carId)
    })
    // It comes back to its own lock, retained (a stale version to it), and nothing else.
    expect(s.rejected.filter((reason) => !reason.startsWith('stale version'))).toEqual([])
    expect(s.applied).toHaveLength(applied)
    expect(s.agent.state().locked).toBe(true)
  })

  it("does not let a device forge another car's report", async () => {
    const from = seenReports.length
    await asTheCar(async (car) => {
      const forged = JSON.stringify({
        type: 'reported',
        deviceId: otherId,
        version: 1,
        state: { locked: false },
      })
      await expect(car.publishAsync(t.reported(otherId), forged, { qos: 1 })).rejects.toMatchObject({
        code: 135,
      })
      await barrier(car, carId)
    })
    expect(seenReports.slice(from).filter((r) => r.topic === t.reported(otherId))).toEqual([])
    expect(await s.engine.store.getDevice(otherId)).toBeNull()
  })

  it.each([4, 5] as const)(
    'does not let another client knock the car offline by taking its client id (use_username_as_clientid, MQTT %s)',
    async (version) => {
      const carReports = () => seenReports.filter((r) => r.topic === t.reported(carId)).length
      const before = carReports()
      // Another car, with valid credentials of its own, connects under the car's client ids (the agent's,
      // and the one it used to have): Mosquitto replaces them with its username, so no session is taken over.
      for (const clientId of [carId, `car-${carId}`]) {
        const intruder = await connectAsync(broker.url, {
          protocolVersion: version,
          reconnectPeriod: 0,
          clientId,
          username: otherId,
          password: secrets[otherId] as string,
        })
        clients.push(intruder)
        expect(intruder.connected).toBe(true)
      }
      await barrier(clients.at(-1) as MqttClient, otherId)
      // The car was never disconnected: it reports at every (re)connect, and Mosquitto never dropped it.
      expect(carReports()).toBe(before)
      expect(broker.log()).not.toMatch(new RegExp(`${carId} already connected, closing old connection`))
      // The intruder kicked only itself: the second login replaced the first under the username.
      expect(clients.at(-2)?.connected).toBe(false)
    },
  )

  it('accepts a password hashed without mosquitto_passwd (the helper hashes like it)', async () => {
    const client = await login('fallback', 5, 'fallback-secret')
    expect(client.connected).toBe(true)
  })
})
