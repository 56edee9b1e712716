// A car is not slowed by junk: validly signed commands from random keys (a future chainTime, so each asks
// the car to catch up with the registry) neither cost the car RPC beyond a small rate nor delay its
// operator's commands. Real Anvil, real broker (aedes), real agent; RPC counted by a proxy.
import { randomBytes } from 'node:crypto'
import {
  type AppliedEntry,
  createDeviceAgent,
  type DeviceAgent,
  type DeviceAgentOptions,
  encode,
  LOCK_MESSAGE,
  type RefusalCode,
  topics,
} from '@pbj/device'
import { connectAsync, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { createRpcProxy, type RpcProxy } from './helpers/createRpcProxy.js'
import { signFlood } from './helpers/signFlood.js'
import { type RegisteredDevice, type RegistryFixture, startRegistry } from './helpers/startRegistry.js'

type Outcome = { commandId: string; applied?: AppliedEntry; code?: RefusalCode }

describe('a flood of validly signed junk (embedded aedes, real Anvil)', () => {
  let registry: RegistryFixture
  let broker: EmbeddedBroker
  let proxy: RpcProxy
  let publisher: MqttClient
  const agents: DeviceAgent[] = []
  const topicPrefix = `pbjflood-${randomBytes(4).toString('hex')}`

  /** A car on the broker, recording each message's outcome by command id, in the order decided. */
  const startCar = async (device: RegisteredDevice, options: Partial<DeviceAgentOptions> = {}) => {
    const outcomes: Outcome[] = []
    const commandIdOf = (raw: unknown): string => {
      if (raw instanceof Uint8Array)
        return (JSON.parse(Buffer.from(raw).toString('utf8')) as Outcome).commandId
      return (raw as { commandId?: string }).commandId ?? '?'
    }
    const agent = await createDeviceAgent({
      brokerUrl: broker.url,
      topicPrefix,
      deviceKey: device.deviceKey,
      chain: registry.chain,
      onApplied: (applied) => outcomes.push({ commandId: applied.commandId, applied }),
      onRejected: (_reason, raw, code) => outcomes.push({ commandId: commandIdOf(raw), code }),
      logger: { warn: () => {} },
      ...options,
    })
    agents.push(agent)
    await agent.ready
    const topic = topics(topicPrefix).desired(device.deviceId)
    const publish = (payload: string | Buffer) => publisher.publishAsync(topic, payload, { qos: 1 })
    const reach = (count: number) => expect.poll(() => outcomes.length, { timeout: 60_000 }).toBe(count)
    return { agent, outcomes, publish, reach }
  }
  const genuine = async (deviceId: string, version: number, locked: boolean) =>
    encode(
      registry.sign({
        deviceId,
        version,
        commandId: `genuine-${version}`,
        state: locked ? { locked, reason: 'missed-payment', message: LOCK_MESSAGE } : { locked },
        chainTime: await registry.chainTime(),
      }),
    )

  beforeAll(async () => {
    registry = await startRegistry()
    broker = await startEmbeddedBroker()
    proxy = await createRpcProxy(registry.chain.rpcUrl)
    // The flood comes from someone who can publish to the car's desired topic at all: on the embedded broker
    // only the engine may (a leaked engine login, or a broker without pbj's ACL). The car's own checks are
    // the subject here; the broker's are in brokerAttacks.test.ts.
    publisher = await connectAsync(broker.url, { ...broker.engineLogin, clientId: 'flood-publisher' })
  })
  afterAll(async () => {
    for (const agent of agents) await agent.close()
    await publisher?.endAsync()
    await proxy?.close()
    await broker?.close()
    await registry?.stop()
  })

  it('refuses strangers beyond the lookup rate without a single RPC request', async () => {
    const device = await registry.newDevice()
    const car = await startCar(device, {
      // Every registry read goes through the proxy, which counts it; no background polling meanwhile.
      chain: {
        ...registry.chain,
        rpcUrl: proxy.httpUrl,
        pollIntervalMs: 600_000,
        unknownSignerLookups: { perSecond: 0, burst: 5 },
      },
    })
    const rpcCalls = () => Object.values(proxy.stats().calls).reduce((sum, n) => sum + n, 0)
    await car.publish(await genuine(device.deviceId, 1, false))
    await car.reach(1)
    expect(car.outcomes[0]?.applied).toBeDefined()

    // The first strangers spend what is left of the burst (the operator's first lookup took one).
    const flood = signFlood({ domain: registry.domain, deviceId: device.deviceId, count: 520 })
    await Promise.all(flood.slice(0, 20).map((payload) => car.publish(payload)))
    await car.reach(21)
    const before = rpcCalls()
    await Promise.all(flood.slice(20).map((payload) => car.publish(payload)))
    await car.reach(521)
    expect(rpcCalls() - before).toBe(0)
    const codes = car.outcomes.slice(1).map((o) => o.code)
    expect(codes.filter((code) => code === 'unauthorized')).toHaveLength(4)
    expect(codes.filter((code) => code === 'rate-limited')).toHaveLength(516)
    expect(car.agent.state()).toMatchObject({ locked: false, version: 1 })

    // The operator is not rate-limited.
    await car.publish(await genuine(device.deviceId, 2, true))
    await car.reach(522)
    expect(car.outcomes[521]?.applied).toMatchObject({ commandId: 'genuine-2', locked: true })
  })

  it('applies a lock published behind 2,000 flood messages before the flood is through', async () => {
    const device = await registry.newDevice()
    // Room for the whole flood in the queue, so that every junk message waits its turn.
    const car = await startCar(device, { maxQueuedUnknown: 4_096 })
    await car.publish(await genuine(device.deviceId, 1, false))
    await car.reach(1)
    expect(car.outcomes[0]?.applied).toBeDefined()

    const flood = signFlood({ domain: registry.domain, deviceId: device.deviceId, count: 2_000 })
    const lock = await genuine(device.deviceId, 2, true)
    // One connection, so the broker delivers the lock after every flood message.
    const sent = flood.map((payload) => car.publish(payload))
    sent.push(car.publish(lock))
    await Promise.all(sent)
    await car.reach(2_002)

    const decided = car.outcomes.slice(1)
    const lockAt = decided.findIndex((o) => o.commandId === 'genuine-2')
    expect(decided[lockAt]?.applied).toMatchObject({ version: 2, locked: true })
    // The flood's own verdicts still came after the lock: it did not wait for the queue to drain.
    const floodAfter = decided.slice(lockAt + 1).filter((o) => o.commandId.startsWith('flood-'))
    expect(floodAfter.length).toBeGreaterThan(0)
    expect(new Set(decided.filter((o) => o !== decided[lockAt]).map((o) => o.code))).toEqual(
      new Set(['unauthorized', 'rate-limited']),
    )
    expect(car.agent.state()).toMatchObject({ locked: true, version: 2, commandId: 'genuine-2' })
    console.log(`lock decided after ${lockAt} of 2,000 flood messages; ${floodAfter.length} after it`)
  })

  it('refuses what does not fit in its queue at once, as overloaded', async () => {
    const device = await registry.newDevice()
    const car = await startCar(device, { maxQueuedUnknown: 8 })
    const flood = signFlood({ domain: registry.domain, deviceId: device.deviceId, count: 300 })
    await Promise.all(flood.map((payload) => car.publish(payload)))
    await car.reach(300)
    const codes = new Set(car.outcomes.map((o) => o.code))
    expect(codes.has('overloaded')).toBe(true)
    expect(car.agent.state()).toMatchObject({ locked: false, version: 0 })
  })
})
