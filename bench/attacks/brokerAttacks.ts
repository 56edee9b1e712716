// The `broker` group of `npm run attacks` (and the car's own loan check): outside MQTT clients against the brokers pbj runs on — the
// embedded one (aedes with pbj's ACL and device-key logins) and Mosquitto with the config and ACL of
// docs/mosquitto — with the real engine and a real car. Nobody but the car may log in as the car or take its
// session, nobody but the engine may command it, no device may read another's commands or forge its reports;
// and whatever happens to the retained command, the car converges to its desired state.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { deviceRegistryAbi } from '@pbj/contracts'
import { deviceLogin, encode, LOCK_MESSAGE, pbjDomain, topics } from '@pbj/device'
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { demoClients } from '#pbj/demo/demoClients.js'
import { startMosquitto, type TestMosquitto } from '../../test/helpers/startMosquitto.js'
import { type Scenario, startScenario } from '../../test/helpers/startScenario.js'
import { type Attack, type AttackOutcome, type AttackResult, messageOf, runAttacks } from './attack.js'

/** One broker under attack: its URL, the logins it knows, and the scenario running on it. */
type Target = {
  name: 'embedded' | 'mosquitto'
  s: Scenario
  url: string
  protocolVersion: 4 | 5
  topics: ReturnType<typeof topics>
  /** The engine's login, for the test's own observer (what the engine would see). */
  engine: IClientOptions
  /** A genuine device account that is not the car (another car's owner, or a device the attacker holds). */
  intruder: { id: string; login: () => IClientOptions }
  clients: MqttClient[]
}

const carId = (t: Target) => t.s.car.deviceId.toLowerCase()

/** Connects once, no retries; resolves with the client or rejects with the broker's refusal. */
async function connect(t: Target, options: IClientOptions): Promise<MqttClient> {
  const client = await connectAsync(t.url, {
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    protocolVersion: t.protocolVersion,
    ...options,
  })
  t.clients.push(client)
  return client
}

/** Refused when the broker refuses the connection; through when it accepts it. */
async function refusedAtConnect(t: Target, options: IClientOptions): Promise<AttackOutcome> {
  try {
    await connect(t, options)
  } catch (error) {
    return { gotThrough: false, detail: `connection refused: ${messageOf(error)}` }
  }
  return { gotThrough: true, detail: 'the broker accepted the connection' }
}

/**
 * Publishes at QoS 0 (a broker that drops an unauthorized QoS 1 publish may close the connection or never
 * acknowledge it, which would tell the sender) and gives the broker time to forward it, if it would.
 */
async function tryPublish(client: MqttClient, topic: string, payload: string, retain: boolean) {
  client.publish(topic, payload, { qos: 0, retain })
  await sleep(300)
}

/** What arrives on `topic` for a client with `options` within 400 ms (retained messages come at once). */
async function received(t: Target, options: IClientOptions, topic: string): Promise<string[]> {
  const client = await connect(t, options)
  const got: string[] = []
  client.on('message', (_topic, payload) => got.push(payload.toString()))
  // A refused subscription may get no SUBACK at all: wait for messages either way, then leave.
  client.subscribe(topic, { qos: 1 }, () => {})
  await sleep(400)
  await Promise.race([client.endAsync(true), sleep(500)])
  return got
}

const attacks = (t: Target): Attack<Target>[] => [
  {
    kind: `${t.name}-anonymous-client-connects`,
    run: (t) => refusedAtConnect(t, { clientId: `anon-${randomBytes(3).toString('hex')}` }),
  },
  {
    kind: `${t.name}-logs-in-as-the-car-without-its-key`,
    run: (t) =>
      refusedAtConnect(t, {
        clientId: carId(t),
        username: carId(t),
        password: t.name === 'embedded' ? deviceLogin(generatePrivateKey()).password : 'guessed-password',
      }),
  },
  {
    kind: `${t.name}-device-publishes-a-command-to-the-car`,
    async run(t) {
      const before = await received(t, t.engine, t.topics.desired(carId(t)))
      if (before.length === 0)
        return { gotThrough: false, unexpected: true, detail: 'no retained command to compare' }
      const version = t.s.agent.state().version
      const intruder = await connect(t, t.intruder.login())
      const forged = JSON.stringify({ deviceId: carId(t), version: version + 1, state: { locked: true } })
      await tryPublish(intruder, t.topics.desired(carId(t)), forged, true)
      const after = await received(t, t.engine, t.topics.desired(carId(t)))
      if (after.join() !== before.join()) return { gotThrough: true, detail: 'the retained command changed' }
      if (t.s.agent.state().version !== version)
        return { gotThrough: true, detail: 'the car applied something' }
      return { gotThrough: false, detail: 'dropped by the broker: the retained command is the engine’s' }
    },
  },
  {
    kind: `${t.name}-device-forges-the-cars-report`,
    async run(t) {
      const watcher = await connect(t, t.engine)
      const seen: string[] = []
      watcher.on('message', (_topic, payload) => seen.push(payload.toString()))
      await watcher.subscribeAsync(t.topics.reported(carId(t)), { qos: 1 })
      await sleep(200)
      seen.length = 0
      const intruder = await connect(t, t.intruder.login())
      const forged = JSON.stringify({
        deviceId: carId(t),
        version: 999,
        state: { locked: false },
        forged: true,
      })
      await tryPublish(intruder, t.topics.reported(carId(t)), forged, false)
      await sleep(300)
      return seen.some((m) => m.includes('"forged":true'))
        ? { gotThrough: true, detail: "the engine's side received the forged report" }
        : { gotThrough: false, detail: 'dropped by the broker' }
    },
  },
  {
    kind: `${t.name}-device-reads-the-cars-commands`,
    async run(t) {
      const got = await received(t, t.intruder.login(), t.topics.desired(carId(t)))
      return got.length > 0
        ? { gotThrough: true, detail: `received ${got.length} of the car's commands` }
        : { gotThrough: false, detail: 'subscription refused: nothing received' }
    },
  },
  {
    kind: `${t.name}-device-subscribes-to-every-topic`,
    async run(t) {
      const got = await received(t, t.intruder.login(), '#')
      return got.length > 0
        ? { gotThrough: true, detail: `received ${got.length} messages` }
        : { gotThrough: false, detail: 'subscription refused: nothing received' }
    },
  },
  {
    kind: `${t.name}-device-takes-over-the-cars-session`,
    async run(t) {
      // With the car's id as client id and its own valid login: on a broker that keys sessions by client id
      // this disconnects the car (and could keep it offline, missing its unlock). A car that is kicked
      // reconnects and reports again at once, so a report seen afterwards means it lost its session.
      const watcher = await connect(t, t.engine)
      const reports: string[] = []
      watcher.on('message', (_topic, payload) => reports.push(payload.toString()))
      await watcher.subscribeAsync(t.topics.reported(carId(t)), { qos: 1 })
      await sleep(300)
      reports.length = 0
      try {
        await connect(t, { ...t.intruder.login(), clientId: carId(t) })
      } catch (error) {
        return { gotThrough: false, detail: `connection refused: ${messageOf(error)}` }
      }
      await sleep(1_500)
      // Mosquitto with use_username_as_clientid gives it its username as client id: the car stays on.
      return reports.length === 0
        ? { gotThrough: false, detail: 'connected under its own identity; the car kept its session' }
        : { gotThrough: true, detail: 'the car was disconnected and had to reconnect' }
    },
  },
]

/** Embedded only: the retained command is cleared while the paid car is offline; the car must still unlock. */
const clearRetained: Attack<Target> = {
  kind: 'embedded-clears-the-retained-unlock-while-the-car-is-offline',
  async run(t) {
    await t.s.stopCar()
    await t.s.reload(t.s.car.installment * 2n)
    await t.s.mine()
    // Someone holding a login that may write there (a leaked one, or a broker without the ACL) clears it.
    const eraser = await connect(t, t.engine)
    await eraser.publishAsync(t.topics.desired(carId(t)), '', { qos: 1, retain: true })
    await t.s.startCar()
    const unlocked = await t.s.waitForCar(false).then(
      () => true,
      () => false,
    )
    return unlocked
      ? { gotThrough: false, detail: 'the car reported behind; the engine sent the unlock again' }
      : { gotThrough: true, missedUnlock: true, detail: 'the paid car stayed locked' }
  },
}

/**
 * Embedded only, after the car is paid: the registry's owner (the dealer) adds a key of its own as the car's
 * operator — a valid operator whose commands pass no engine-side guard — and sends a lock. The car reads
 * its own loan before any lock and refuses it.
 */
const rogueOperator: Attack<Target> = {
  kind: 'embedded-operator-added-behind-pbjs-back-locks-a-paid-car',
  async run(t) {
    const { chainId, contracts, accounts } = t.s.stack.deployment
    const rogueKey = generatePrivateKey()
    const { lender } = demoClients({
      rpcUrl: t.s.stack.rpcUrl,
      chainId,
      lenderKey: accounts.lender.privateKey,
    })
    await lender.writeContract({
      address: contracts.DeviceRegistry,
      abi: deviceRegistryAbi,
      functionName: 'addOperator',
      args: [t.s.car.deviceId, privateKeyToAddress(rogueKey)],
    })
    await t.s.mine()
    const rogue = createCommandSigner({
      operatorKey: rogueKey,
      domain: pbjDomain({ chainId, registry: contracts.DeviceRegistry }),
    })
    const [lock] = rogue.sign([
      {
        deviceId: carId(t),
        version: t.s.agent.state().version + 100,
        commandId: 'rogue-operator-lock',
        state: { locked: true, reason: 'rogue', message: LOCK_MESSAGE },
        chainTime: Number((await t.s.pub.getBlock({ blockTag: 'latest' })).timestamp),
      },
    ])
    if (!lock) return { gotThrough: false, unexpected: true, detail: 'no command signed' }
    const rejectedBefore = t.s.rejected.length
    const sender = await connect(t, t.engine)
    await sender.publishAsync(t.topics.desired(carId(t)), encode(lock), { qos: 1 })
    await sleep(1_000)
    if (t.s.applied.some((a) => a.commandId === 'rogue-operator-lock')) {
      return { gotThrough: true, wrongLock: t.s.agent.state().locked, detail: 'the car applied the lock' }
    }
    const refusal = t.s.rejected.slice(rejectedBefore).find((r) => r.includes("lock refused: the car's loan"))
    return refusal
      ? { gotThrough: false, detail: `refused by the car: ${refusal}` }
      : {
          gotThrough: false,
          unexpected: true,
          detail: `not applied, but no loan refusal: ${t.s.rejected.slice(rejectedBefore).join('; ')}`,
        }
  },
}

async function attackEmbedded(log: (line: string) => void): Promise<AttackResult[]> {
  const s = await startScenario({})
  const clients: MqttClient[] = []
  try {
    await s.lockTheCar()
    const login = s.engineLogin
    if (!login) throw new Error('the scenario has no embedded broker login')
    const intruderKey = generatePrivateKey()
    const target: Target = {
      name: 'embedded',
      s,
      url: s.stack.brokerUrl,
      protocolVersion: 4,
      topics: topics(s.topicPrefix),
      engine: { ...login, clientId: `watch-${randomBytes(3).toString('hex')}` },
      intruder: {
        id: privateKeyToAddress(intruderKey).toLowerCase(),
        login: () => ({
          ...deviceLogin(intruderKey),
          clientId: privateKeyToAddress(intruderKey).toLowerCase(),
        }),
      },
      clients,
    }
    return await runAttacks('broker', target, [...attacks(target), clearRetained, rogueOperator], log)
  } finally {
    await Promise.allSettled(clients.map((c) => c.endAsync(true)))
    await s.stop()
  }
}

async function attackMosquitto(log: (line: string) => void): Promise<AttackResult[]> {
  const carKey = generatePrivateKey()
  const car = privateKeyToAddress(carKey).toLowerCase()
  const intruder = privateKeyToAddress(generatePrivateKey()).toLowerCase()
  const secret = () => randomBytes(12).toString('base64url')
  const users = { pbj: secret(), [car]: secret(), [intruder]: secret(), watcher: secret() }
  // The test's observer (the engine's view) is its own user, so it does not take the engine's session.
  const broker: TestMosquitto = await startMosquitto({
    users,
    aclExtra: 'user watcher\ntopic read pbj/devices/+/reported\ntopic read pbj/devices/+/desired',
  })
  const clients: MqttClient[] = []
  let s: Scenario | undefined
  try {
    s = await startScenario({
      brokerUrl: broker.url,
      protocolVersion: 5,
      topicPrefix: 'pbj',
      brokerAuth: { username: 'pbj', password: users.pbj },
      carAuth: { username: car, password: users[car] as string },
      devicePrivateKey: carKey,
    })
    await s.lockTheCar()
    const target: Target = {
      name: 'mosquitto',
      s,
      url: broker.url,
      protocolVersion: 5,
      topics: topics('pbj'),
      engine: { username: 'watcher', password: users.watcher, clientId: 'watcher' },
      intruder: {
        id: intruder,
        login: () => ({ username: intruder, password: users[intruder] as string, clientId: intruder }),
      },
      clients,
    }
    return await runAttacks('broker', target, attacks(target), log)
  } finally {
    await Promise.allSettled(clients.map((c) => c.endAsync(true)))
    await s?.stop()
    await broker.stop()
  }
}

/**
 * Runs the broker attacks on the embedded broker, then on Mosquitto with the documented config.
 *
 * @example
 * const results = await runBrokerAttacks((line) => console.error(line))
 */
export async function runBrokerAttacks(log: (line: string) => void): Promise<AttackResult[]> {
  return [...(await attackEmbedded(log)), ...(await attackMosquitto(log))]
}
