// Device trust: a car applies only commands signed by one of its operators in DeviceRegistry, and the
// engine counts only reports signed by the car. Real Anvil, real brokers (aedes, Mosquitto), real agents.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type DesiredMessage,
  encode,
  LOCK_MESSAGE,
  type RefusalCode,
  type ReportedMessage,
} from '@pbj/device'
import { connectAsync, type MqttClient } from 'mqtt'
import { generatePrivateKey } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMqttBroker } from '#pbj/actions/broker/createMqttBroker.js'
import { embeddedBrokerLogin } from '#pbj/actions/broker/embeddedBrokerLogin.js'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import type { BrokerConnection } from '#pbj/actions/broker/types.js'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { silentLogger } from '#pbj/internal/logger.js'
import { createCommandFuzzer } from './helpers/createCommandFuzzer.js'
import { createRpcProxy } from './helpers/createRpcProxy.js'
import { type CarOnBroker, startCarOnBroker } from './helpers/startCarOnBroker.js'
import { type RegisteredDevice, type RegistryFixture, startRegistry } from './helpers/startRegistry.js'

const UNLOCK = { locked: false, reason: 'paid' }
const LOCK = { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }

describe('signed commands: a car applies only what an operator of it signed (embedded aedes)', () => {
  let registry: RegistryFixture
  let broker: EmbeddedBroker
  let engine: BrokerConnection
  let car: CarOnBroker
  let device: RegisteredDevice
  let other: RegisteredDevice
  const dir = mkdtempSync(join(tmpdir(), 'pbj-auth-'))
  const topicPrefix = `pbjtest-${randomBytes(4).toString('hex')}`
  const reports: ReportedMessage[] = []
  const engineWarnings: string[] = []
  /** The next genuine command: a version above the car's, signed by the operator in a batch of one. */
  let version = 0
  /** The last command the car applied, for replays. */
  let lastApplied: DesiredMessage
  const next = async (state: { locked: boolean; reason?: string; message?: string } = UNLOCK) =>
    registry.sign({
      deviceId: device.deviceId,
      version: ++version,
      state,
      chainTime: await registry.chainTime(),
    })

  beforeAll(async () => {
    registry = await startRegistry()
    broker = await startEmbeddedBroker()
    device = await registry.newDevice()
    other = await registry.newDevice()
    engine = await createMqttBroker({
      url: broker.url,
      topicPrefix,
      domain: registry.domain,
      logger: { ...silentLogger, warn: (w) => engineWarnings.push(w) },
    })
    engine.onReported((report) => reports.push(report))
    car = await startCarOnBroker({
      registry,
      device,
      brokerUrl: broker.url,
      protocolVersion: 4,
      topicPrefix,
      dir,
    })
  })
  afterAll(async () => {
    await car?.close()
    await engine?.close()
    await broker?.close()
    await registry?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('applies a command its operator signed, and the engine accepts the car-signed acknowledgement', async () => {
    const command = await next()
    const outcome = await car.send(command)
    expect(outcome.applied).toMatchObject({ commandId: command.commandId, version: command.version })
    lastApplied = command
    expect(car.agent.state()).toMatchObject({ version: command.version, commandId: command.commandId })
    await expect
      .poll(() => reports.find((r) => r.version === command.version))
      .toMatchObject({
        deviceId: device.deviceId,
        commandId: command.commandId,
        signature: expect.stringMatching(/^0x[0-9a-f]{130}$/),
      })
    expect(engineWarnings).toEqual([])
  })

  it('refuses each kind of bad command with its reason, and its state does not change', async () => {
    // The log line of the last command is written just before its report, after onApplied.
    await expect.poll(() => car.log().at(-1)?.commandId).toBe(lastApplied.commandId)
    const applied = car.log()
    const state = car.agent.state()
    const genuine = await next()
    version-- // the genuine command is only the base of the bad ones: its version stays free
    const stranger = createCommandSigner({ operatorKey: generatePrivateKey(), domain: registry.domain })
    const tampered = structuredClone(genuine)
    tampered.state = LOCK
    const forged = structuredClone(genuine)
    // a signature of the same root by a key that is not the operator's, claiming to be the operator's
    forged.auth.signature = registry.sign(
      { deviceId: device.deviceId, version: genuine.version, state: UNLOCK },
      { with: stranger },
    ).auth.signature
    const batch = registry.signer.sign([
      { deviceId: other.deviceId, version: genuine.version, commandId: 'b-0', state: LOCK, chainTime: 0 },
      { deviceId: device.deviceId, version: genuine.version, commandId: 'b-1', state: LOCK, chainTime: 0 },
      {
        deviceId: `0x${randomBytes(20).toString('hex')}`,
        version: 1,
        commandId: 'b-2',
        state: LOCK,
        chainTime: 0,
      },
    ])
    const mine = batch[1] as DesiredMessage
    const wrongProof = { ...mine, auth: { ...mine.auth, proof: (batch[0] as DesiredMessage).auth.proof } }
    const cases: [string, string | Buffer | DesiredMessage, RefusalCode, RegExp][] = [
      ['malformed payload', 'lock it now', 'malformed', /^malformed desired message: payload is not JSON/],
      [
        'unsigned command',
        JSON.stringify({ ...genuine, auth: undefined }),
        'malformed',
        /^malformed desired message: auth: /,
      ],
      [
        'command for another car',
        registry.sign({ deviceId: other.deviceId, version: genuine.version, state: LOCK }),
        'wrong-device',
        new RegExp(`^desired message is for ${other.deviceId}, not this car$`),
      ],
      [
        'expired command',
        registry.sign(
          { deviceId: device.deviceId, version: genuine.version, state: LOCK },
          { now: Date.now() - 11 * 60_000 },
        ),
        'expired',
        /^command cmd-\d+ expired at .* \(car clock .*\)$/,
      ],
      [
        'command not yet valid',
        registry.sign(
          { deviceId: device.deviceId, version: genuine.version, state: LOCK },
          { now: Date.now() + 5 * 60_000 },
        ),
        'not-yet-valid',
        /^command cmd-\d+ is not valid before .* \(car clock .*\)$/,
      ],
      ['tampered state (unlock made a lock)', tampered, 'bad-proof', /^proof does not match root: /],
      ['proof of another car’s command', wrongProof, 'bad-proof', /^proof does not match root: /],
      [
        'forged signature',
        forged,
        'bad-signature',
        new RegExp(
          `^invalid signature: not made by ${registry.operator.address.toLowerCase()} \\(it recovers to 0x[0-9a-f]{40}\\)$`,
        ),
      ],
      [
        'signature that is no signature',
        { ...genuine, auth: { ...genuine.auth, signature: `0x${'00'.repeat(65)}` } },
        'bad-signature',
        /^invalid signature: not a canonical secp256k1 signature$/,
      ],
      [
        'signer that is not an operator of this car',
        registry.sign(
          { deviceId: device.deviceId, version: genuine.version, state: LOCK },
          { with: stranger },
        ),
        'unauthorized',
        new RegExp(
          `^signer ${stranger.address} is not an operator of this car in DeviceRegistry ${registry.registry.toLowerCase()}$`,
        ),
      ],
      [
        'replayed command',
        lastApplied,
        'replay',
        new RegExp(
          `^stale version ${lastApplied.version}: version ${lastApplied.version} already applied \\(replay of command ${lastApplied.commandId}\\)$`,
        ),
      ],
      [
        'stale version',
        registry.sign({
          deviceId: device.deviceId,
          version: lastApplied.version,
          commandId: 'late',
          state: LOCK,
        }),
        'stale',
        new RegExp(`^stale version ${lastApplied.version}: version ${lastApplied.version} already applied$`),
      ],
    ]
    const seen: [string, RefusalCode | 'applied', string][] = []
    for (const [name, payload, code, reason] of cases) {
      const outcome = await car.send(payload)
      seen.push([name, outcome.refused?.code ?? 'applied', outcome.refused?.reason ?? ''])
      expect(outcome.refused?.code, name).toBe(code)
      expect(outcome.refused?.reason, name).toMatch(reason)
      expect(car.agent.state(), name).toEqual(state)
    }
    expect(car.log()).toEqual(applied)
    // The engine hears of refusals, in the car's signed report carrying the reason and the unchanged state.
    await expect
      .poll(() => reports.find((r) => r.error?.startsWith('malformed desired message: payload is not JSON')))
      .toMatchObject({ version: state.version, commandId: state.commandId })
  })

  it('refuses the very next command once its signer is removed from DeviceRegistry, and obeys it once re-added', async () => {
    // The operator's answer is cached from the commands before: only the registry's log can undo it.
    expect((await car.send(await next())).applied).toBeDefined()
    await registry.removeOperator(device.deviceId)
    const refused = await car.send(await next())
    version--
    expect(refused.refused).toEqual({
      code: 'unauthorized',
      reason: `signer ${registry.operator.address.toLowerCase()} is not an operator of this car in DeviceRegistry ${registry.registry.toLowerCase()}`,
    })
    // A command claiming an old block is answered from the cache, which the background poll corrects.
    await sleep(2_500)
    const old = registry.sign({
      deviceId: device.deviceId,
      version: version + 1,
      state: UNLOCK,
      chainTime: 0,
    })
    expect((await car.send(old)).refused?.code).toBe('unauthorized')

    await registry.addOperator(device.deviceId)
    const command = await next()
    expect((await car.send(command)).applied).toMatchObject({ version: command.version })
  })

  it('verifies commands of a batch: one signature, each car its own proof', async () => {
    const cars = [
      device.deviceId,
      other.deviceId,
      ...Array.from({ length: 37 }, () => `0x${randomBytes(20).toString('hex')}`),
    ]
    const batch = registry.signer.sign(
      cars.map((deviceId, i) => ({
        deviceId,
        version: deviceId === device.deviceId ? version + 1 : 1,
        commandId: `batch-${i}`,
        state: UNLOCK,
        chainTime: 0,
      })),
    )
    version++
    expect(new Set(batch.map((m) => m.auth.signature)).size).toBe(1)
    expect(new Set(batch.map((m) => m.auth.root)).size).toBe(1)
    expect(batch[0]?.auth.proof).toHaveLength(6)
    expect((await car.send(batch[0] as DesiredMessage)).applied).toMatchObject({ commandId: 'batch-0' })
    lastApplied = batch[0] as DesiredMessage
  })

  it('refuses 300 randomized forged, mutated, replayed and expired commands, each for the expected reason, and applies none', async () => {
    // The log line of the last command is written just before its report, after onApplied.
    await expect.poll(() => car.log().at(-1)?.commandId).toBe(lastApplied.commandId)
    const applied = car.log()
    const state = car.agent.state()
    const fuzz = createCommandFuzzer({
      registry,
      deviceId: device.deviceId,
      otherDeviceId: other.deviceId,
      applied: lastApplied,
    })
    const cases = Array.from({ length: 300 }, () => fuzz.next())
    // One at a time: messages naming the operator and the others are judged in two lanes (a flood must
    // not delay the operator), so the order of outcomes is not the order of publishing.
    const got: string[] = []
    for (const c of cases) got.push((await car.send(c.payload)).refused?.code ?? 'APPLIED')
    const wrong = cases
      .map((c, i) => ({
        kind: c.kind,
        expected: c.expect,
        got: got[i] ?? '',
        ok: fuzz.refusedAsExpected(c, got[i] ?? ''),
      }))
      .filter((c) => !c.ok)
    expect(wrong).toEqual([])
    expect(new Set(cases.map((c) => c.kind)).size).toBeGreaterThan(fuzz.kinds - 5)
    expect(car.log()).toEqual(applied)
    expect(car.agent.state()).toEqual(state)
  })
})

describe('a car whose node is unreachable (embedded aedes, the registry behind a proxy that can go down)', () => {
  it('refuses a command it cannot check against the registry, and applies it once the node is back', async () => {
    const registry = await startRegistry()
    const broker = await startEmbeddedBroker()
    const proxy = await createRpcProxy(registry.chain.rpcUrl)
    const dir = mkdtempSync(join(tmpdir(), 'pbj-unreachable-'))
    const device = await registry.newDevice()
    const car = await startCarOnBroker({
      registry: { ...registry, chain: { ...registry.chain, rpcUrl: proxy.httpUrl } },
      device,
      brokerUrl: broker.url,
      protocolVersion: 4,
      topicPrefix: `pbjtest-${randomBytes(4).toString('hex')}`,
      dir,
    })
    try {
      proxy.setFaults({ down: true })
      const command = registry.sign({
        deviceId: device.deviceId,
        version: 1,
        state: UNLOCK,
        chainTime: await registry.chainTime(),
      })
      const outcome = await car.send(command)
      expect(outcome.refused?.code).toBe('unverifiable')
      expect(outcome.refused?.reason).toMatch(/^cannot check signer 0x[0-9a-f]{40} in DeviceRegistry: /)
      expect(car.agent.state().version).toBe(0)
      // No command comes again (the engine has it delivered): the car itself looks again, with backoff.
      proxy.setFaults({})
      await car.outcomesReach(2, 10_000)
      expect(car.outcomes[1]?.applied).toMatchObject({ commandId: command.commandId, version: 1 })
    } finally {
      await car.close()
      await proxy.close()
      await broker.close()
      await registry.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe.each([
  { name: 'embedded aedes (MQTT 3.1.1)', url: undefined, protocolVersion: 4 as const },
  { name: 'Mosquitto (MQTT 5)', url: 'mqtt://127.0.0.1:1883', protocolVersion: 5 as const },
])('a publisher with access to the broker but not the operator key cannot lock the car ($name)', (target) => {
  let registry: RegistryFixture
  let broker: EmbeddedBroker | undefined
  let car: CarOnBroker
  let attacker: MqttClient
  const dir = mkdtempSync(join(tmpdir(), 'pbj-attack-'))
  const topicPrefix = `pbjtest-${randomBytes(4).toString('hex')}`

  beforeAll(async () => {
    registry = await startRegistry()
    broker = target.url ? undefined : await startEmbeddedBroker()
    const url = target.url ?? (broker as EmbeddedBroker).url
    const device = await registry.newDevice()
    car = await startCarOnBroker({
      registry,
      device,
      brokerUrl: url,
      protocolVersion: target.protocolVersion,
      topicPrefix,
      dir,
    })
    attacker = await connectAsync(url, {
      protocolVersion: target.protocolVersion,
      ...embeddedBrokerLogin(url),
    })
  })
  afterAll(async () => {
    await attacker?.endAsync()
    await car?.close()
    await broker?.close()
    await registry?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('publishes lock commands every way it can; the car refuses them all and stays unlocked', async () => {
    const deviceId = car.agent.deviceId
    const other = await registry.newDevice()
    const ownKey = createCommandSigner({ operatorKey: generatePrivateKey(), domain: registry.domain })
    const selfSigned = registry.sign({ deviceId, version: 1, state: LOCK }, { with: ownKey })
    // A genuine lock the operator signed for another car, retargeted at this one.
    const forOther = registry.sign({ deviceId: other.deviceId, version: 1, state: LOCK })
    const attempts: [string | DesiredMessage, RefusalCode][] = [
      // as commands were before they were signed
      [
        JSON.stringify({
          type: 'desired',
          deviceId,
          version: 1,
          commandId: 'x',
          state: LOCK,
          issuedAt: Date.now(),
        }),
        'malformed',
      ],
      // signed with its own key
      [selfSigned, 'unauthorized'],
      // signed with its own key, naming the operator as signer
      [
        { ...selfSigned, auth: { ...selfSigned.auth, signer: registry.operator.address.toLowerCase() } },
        'bad-signature',
      ],
      // the operator's lock of another car, addressed to this one
      [{ ...forOther, deviceId }, 'bad-proof'],
      [forOther, 'wrong-device'],
    ]
    for (const [payload, code] of attempts) {
      const before = car.outcomes.length
      await attacker.publishAsync(car.topic, typeof payload === 'string' ? payload : encode(payload), {
        qos: 1,
        retain: true,
      })
      await car.outcomesReach(before + 1)
      expect(car.outcomes[before]?.refused?.code).toBe(code)
    }
    expect(car.agent.state()).toMatchObject({ locked: false, version: 0 })
    expect(car.log()).toEqual([])

    // The same broker path carries the operator's own command, and the car obeys it.
    const genuine = registry.sign({ deviceId, version: 1, commandId: 'operator-1', state: UNLOCK })
    expect((await car.send(genuine)).applied).toMatchObject({ commandId: 'operator-1', version: 1 })
  })
})
