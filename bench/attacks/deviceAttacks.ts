// The `device` group of `npm run attacks`: someone with access to the broker but without the operator key
// (or with a key that is no longer, or never was, an operator of this car) publishes commands to a real
// car (a device agent verifying against a DeviceRegistry on a real Anvil, on the embedded broker). Each
// attack is judged from the car's own records: the commands it applied (its applied log and onApplied),
// and its refusal code, which must be the one the attack should meet.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type AppliedEntry,
  type DesiredMessage,
  type DesiredState,
  type DeviceAgent,
  encode,
  LOCK_MESSAGE,
  pbjDomain,
  type RefusalCode,
} from '@pbj/device'
import { connectAsync, type MqttClient } from 'mqtt'
import type { Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type CommandSigner, createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { createCommandFuzzer } from '../../test/helpers/createCommandFuzzer.js'
import { signFlood } from '../../test/helpers/signFlood.js'
import { type CarOutcome, startCarOnBroker } from '../../test/helpers/startCarOnBroker.js'
import {
  type RegisteredDevice,
  type RegistryFixture,
  startRegistry,
} from '../../test/helpers/startRegistry.js'
import { type Attack, type AttackOutcome, type AttackResult, runAttacks } from './attack.js'

const LOCK: DesiredState = { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }
const UNLOCK: DesiredState = { locked: false, reason: 'paid' }
/** A genuine command not applied within this long is a failure of the car, not a slow run. */
const GENUINE_TIMEOUT_MS = 10_000

/**
 * Options of {@link runDeviceAttacks}.
 *
 * @example
 * const options: DeviceAttackOptions = { floodSize: 500 }
 */
export type DeviceAttackOptions = {
  /** How many validly signed junk commands the flood sends before the genuine lock. Default 10,000. */
  floodSize?: number
  /** How many randomized hostile messages the fuzz attack sends. Default 300. */
  fuzzCount?: number
}

/**
 * The device group's environment: one car on the embedded broker, its registry, and the attacker's and
 * the engine's MQTT connections. `send` is how every attack publishes, one message at a time.
 *
 * @example
 * const env = await startDeviceEnv()
 * const outcome = await env.send(forged)
 * await env.stop()
 */
export type DeviceEnv = {
  registry: RegistryFixture
  deviceId: string
  /** Another registered car, with the same operator: its commands must not work on this one. */
  other: RegisteredDevice
  car: DeviceAgent
  /** Every outcome, in the order the car decided them. */
  outcomes: CarOutcome[]
  /** Publishes as the attacker (any client of the broker) and resolves with what the car made of it. */
  send(payload: string | Buffer | DesiredMessage): Promise<CarOutcome>
  /** The attacker's raw connection, for floods. */
  attacker: MqttClient
  /** The engine's own connection, for genuine commands. */
  engine: MqttClient
  topic: string
  /** The car's applied log, once every command it reported applied has its line. */
  appliedLog(): Promise<AppliedEntry[]>
  /** Signs and publishes a genuine operator command at the next version; resolves once the car logged it. */
  applyGenuine(state: DesiredState, options?: { with?: CommandSigner }): Promise<DesiredMessage>
  /** Resolves once the car has `count` outcomes, or rejects after `timeoutMs`. */
  outcomesReach(count: number, timeoutMs?: number): Promise<void>
  /** The last genuine command the car applied: what replays replay. */
  lastApplied(): DesiredMessage
  options: Required<DeviceAttackOptions>
  stop(): Promise<void>
}

/**
 * Starts the device group's environment: a real Anvil with a DeviceRegistry, the embedded broker, one
 * registered car (a device agent with its applied log, immobilizer off so that what decides is the
 * command's authentication and nothing after it), and the engine's and the attacker's MQTT clients. The car
 * applies one genuine command first, so that there is something to replay and a version to be stale against.
 *
 * @example
 * const env = await startDeviceEnv({ floodSize: 500 })
 */
export async function startDeviceEnv(options: DeviceAttackOptions = {}): Promise<DeviceEnv> {
  const registry = await startRegistry()
  const cleanup: (() => Promise<unknown>)[] = [() => registry.stop()]
  const stop = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {})
  }
  try {
    const broker: EmbeddedBroker = await startEmbeddedBroker()
    cleanup.push(() => broker.close())
    const dir = mkdtempSync(join(tmpdir(), 'pbj-device-attacks-'))
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }))
    const topicPrefix = `pbjattack-${randomBytes(4).toString('hex')}`
    const device = await registry.newDevice()
    const other = await registry.newDevice()
    // The car's publisher (the attacker) holds the engine's login, as only the engine may publish to the
    // car's desired topic on the embedded broker: someone holding a leaked engine login, a compromised
    // broker, or a broker without the ACL. The car's own checks are all that stands between them and it.
    const car = await startCarOnBroker({
      registry,
      device,
      brokerUrl: broker.url,
      protocolVersion: 4,
      topicPrefix,
      dir,
    })
    cleanup.push(() => car.close())
    const engine = await connectAsync(broker.url, {
      ...broker.engineLogin,
      clientId: `engine-${randomBytes(4).toString('hex')}`,
    })
    cleanup.push(() => engine.endAsync())
    const { outcomes, outcomesReach, topic } = car
    // The car appends its log line after onApplied (once its state is saved): wait for it, so that the log
    // and the outcomes tell the same story when an attack is judged.
    const appliedLog = async () => {
      const applied = outcomes.filter((o) => o.applied).length
      for (let waited = 0; car.log().length < applied && waited < 2_000; waited += 10) await sleep(10)
      return car.log()
    }
    let last: DesiredMessage | undefined
    const applyGenuine = async (state: DesiredState, signWith: { with?: CommandSigner } = {}) => {
      const version = car.agent.state().version + 1
      const message = registry.sign(
        {
          deviceId: device.deviceId,
          version,
          commandId: `genuine-${version}`,
          state,
          chainTime: await registry.chainTime(),
        },
        signWith,
      )
      const outcome = await car.send(message, engine)
      if (!outcome.applied)
        throw new Error(
          `the car refused a genuine command: ${outcome.refused?.code} ${outcome.refused?.reason}`,
        )
      await appliedLog()
      last = message
      return message
    }
    await applyGenuine(UNLOCK)
    return {
      registry,
      deviceId: device.deviceId,
      other,
      car: car.agent,
      outcomes,
      send: (payload) => car.send(payload),
      attacker: car.publisher,
      engine,
      topic,
      appliedLog,
      applyGenuine,
      outcomesReach,
      lastApplied: () => last as DesiredMessage,
      options: { floodSize: options.floodSize ?? 10_000, fuzzCount: options.fuzzCount ?? 300 },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * Sends hostile messages one at a time and judges them from the car's records: through if the car applied
 * any (its log grew, or it reported one applied), a wrong lock if that left the car locked; refused as
 * expected, or `unexpected` when refused with another code than the one the message should meet.
 */
async function expectRefused(
  env: DeviceEnv,
  cases: readonly {
    payload: string | Buffer | DesiredMessage
    expect: RefusalCode
    label?: string
    /** Whether another refusal is as good (e.g. `rate-limited` for an unknown signer); default: `expect` only. */
    accepts?: (got: string) => boolean
  }[],
): Promise<AttackOutcome> {
  const logBefore = (await env.appliedLog()).length
  const wasLocked = env.car.state().locked
  const codes = new Map<string, number>()
  const wrong: string[] = []
  const applied: AppliedEntry[] = []
  for (const c of cases) {
    const outcome = await env.send(c.payload)
    if (outcome.applied) applied.push(outcome.applied)
    const got = outcome.refused?.code ?? 'applied'
    codes.set(got, (codes.get(got) ?? 0) + 1)
    if (!(c.accepts ? c.accepts(got) : got === c.expect) && wrong.length < 3) {
      wrong.push(
        `${c.label ?? 'message'}: expected ${c.expect}, got ${got} (${outcome.refused?.reason ?? ''})`,
      )
    }
  }
  const log = await env.appliedLog()
  const logged = log.slice(logBefore)
  if (applied.length > 0 || logged.length > 0) {
    const lockedNow = !wasLocked && env.car.state().locked
    return {
      gotThrough: true,
      ...(lockedNow ? { wrongLock: true } : {}),
      detail: `the car applied ${JSON.stringify(applied[0] ?? logged[0])}`,
    }
  }
  const summary = [...codes].map(([code, n]) => (cases.length > 1 ? `${n}× ${code}` : code)).join(', ')
  if (wrong.length > 0) return { gotThrough: false, unexpected: true, detail: `refused, ${wrong.join('; ')}` }
  const first = env.outcomes.at(-1)?.refused?.reason
  return { gotThrough: false, detail: `refused ${summary}${cases.length === 1 ? `: ${first}` : ''}` }
}

/** A command for this car at a version it would accept, signed by the operator unless told otherwise. */
async function next(
  env: DeviceEnv,
  state: DesiredState = LOCK,
  options: {
    with?: CommandSigner
    now?: number
    deviceId?: string
    chainTime?: number
    /** The block the command claims to come from; the fixture's signer leaves it 0 (none). */
    chainBlock?: number
  } = {},
): Promise<DesiredMessage> {
  const version = env.car.state().version + 1
  if (options.chainBlock !== undefined) {
    const [message] = (options.with ?? env.registry.signer).sign(
      [
        {
          deviceId: options.deviceId ?? env.deviceId,
          version,
          commandId: `attack-${randomBytes(4).toString('hex')}`,
          state,
          chainBlock: options.chainBlock,
          chainTime: options.chainTime ?? (await env.registry.chainTime()),
        },
      ],
      options.now,
    )
    return message as DesiredMessage
  }
  return env.registry.sign(
    {
      deviceId: options.deviceId ?? env.deviceId,
      version,
      commandId: `attack-${randomBytes(4).toString('hex')}`,
      state,
      chainTime: options.chainTime ?? (await env.registry.chainTime()),
    },
    {
      ...(options.with ? { with: options.with } : {}),
      ...(options.now === undefined ? {} : { now: options.now }),
    },
  )
}

/** A key nobody registered, signing in this chain's domain. */
const strangerOf = (env: DeviceEnv): CommandSigner =>
  createCommandSigner({ operatorKey: generatePrivateKey(), domain: env.registry.domain })

/**
 * A key that was an operator of this car and commanded it (so the car knows it as its operator), then was
 * removed from DeviceRegistry by the car's owner. Returns it with the block time before its removal.
 */
async function removedOperator(env: DeviceEnv) {
  const signer = strangerOf(env)
  await env.registry.addOperator(env.deviceId, signer.address as Hex)
  await env.applyGenuine(UNLOCK, { with: signer })
  const whileOperator = await env.registry.chainTime()
  const lastAsOperator = await latestBlock(env)
  // The removal's block is a minute later than the last one the key was an operator in.
  await anvil(env, 'evm_increaseTime', [60])
  const removal = await env.registry.removeOperator(env.deviceId, signer.address as Hex)
  const removedIn = await latestBlock(env)
  if (removedIn.number !== Number(removal.blockNumber)) throw new Error('a block was mined after the removal')
  return { signer, whileOperator, lastAsOperator, removedIn }
}

/** JSON-RPC straight to the test chain's Anvil. */
async function anvil(env: DeviceEnv, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(env.registry.anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  return ((await response.json()) as { result: unknown }).result
}

/** The chain's newest block: its number and timestamp. */
async function latestBlock(env: DeviceEnv): Promise<{ number: number; timestamp: number }> {
  const block = (await anvil(env, 'eth_getBlockByNumber', ['latest', false])) as {
    number: string
    timestamp: string
  }
  return { number: Number(block.number), timestamp: Number(block.timestamp) }
}

/**
 * The device group's attacks, in the order they run: the flood last, since it spends the car's budget of
 * lookups for unknown signers (later attacks by strangers would meet `rate-limited` instead).
 */
export const deviceAttacks: readonly Attack<DeviceEnv>[] = [
  {
    kind: 'forged-signature-claiming-operator',
    async run(env) {
      // A stranger signs a lock and names the operator as its signer.
      const forged = await next(env, LOCK, { with: strangerOf(env) })
      forged.auth.signer = env.registry.operator.address.toLowerCase()
      return expectRefused(env, [{ payload: forged, expect: 'bad-signature' }])
    },
  },
  {
    kind: 'operator-signature-of-another-message',
    async run(env) {
      // The operator's real signature (of an unlock it signed for another car) under a stranger's lock.
      const theirs = await next(env, UNLOCK, { deviceId: env.other.deviceId })
      const forged = await next(env, LOCK, { with: strangerOf(env) })
      forged.auth = { ...forged.auth, signer: theirs.auth.signer, signature: theirs.auth.signature }
      return expectRefused(env, [{ payload: forged, expect: 'bad-signature' }])
    },
  },
  {
    kind: 'operator-signature-on-another-root',
    async run(env) {
      // The operator's signature and signer with a root of the attacker's choosing (the lock's own leaf).
      const theirs = await next(env, UNLOCK)
      const mine = await next(env, LOCK, { with: strangerOf(env) })
      mine.auth = { ...theirs.auth, root: mine.auth.root, proof: mine.auth.proof }
      return expectRefused(env, [{ payload: mine, expect: 'bad-signature' }])
    },
  },
  {
    kind: 'mutated-state-after-signing',
    async run(env) {
      // An unlock the operator signed, turned into a lock.
      const command = await next(env, UNLOCK)
      command.state = LOCK
      return expectRefused(env, [{ payload: command, expect: 'bad-proof' }])
    },
  },
  {
    kind: 'mutated-version-after-signing',
    async run(env) {
      // A genuine lock pushed far ahead, so that the operator's later commands would all be stale.
      const command = await next(env, LOCK)
      command.version += 1_000_000
      return expectRefused(env, [{ payload: command, expect: 'bad-proof' }])
    },
  },
  {
    kind: 'operator-command-for-another-car',
    async run(env) {
      const command = await next(env, LOCK, { deviceId: env.other.deviceId })
      return expectRefused(env, [{ payload: command, expect: 'wrong-device' }])
    },
  },
  {
    kind: 'operator-command-for-another-car-retargeted',
    async run(env) {
      const command = await next(env, LOCK, { deviceId: env.other.deviceId })
      return expectRefused(env, [{ payload: { ...command, deviceId: env.deviceId }, expect: 'bad-proof' }])
    },
  },
  {
    kind: 'replay-of-applied-command',
    async run(env) {
      return expectRefused(env, [{ payload: env.lastApplied(), expect: 'replay' }])
    },
  },
  {
    kind: 'stale-version',
    async run(env) {
      // Genuinely signed, new command id, but a version the car has already applied.
      const current = env.car.state().version
      const command = env.registry.sign({
        deviceId: env.deviceId,
        version: current,
        commandId: `stale-${randomBytes(4).toString('hex')}`,
        state: LOCK,
        chainTime: await env.registry.chainTime(),
      })
      return expectRefused(env, [{ payload: command, expect: 'stale' }])
    },
  },
  {
    kind: 'expired-command',
    async run(env) {
      const command = await next(env, LOCK, { now: Date.now() - 11 * 60_000 })
      return expectRefused(env, [{ payload: command, expect: 'expired' }])
    },
  },
  {
    kind: 'not-yet-valid-command',
    async run(env) {
      const command = await next(env, LOCK, { now: Date.now() + 5 * 60_000 })
      return expectRefused(env, [{ payload: command, expect: 'not-yet-valid' }])
    },
  },
  {
    kind: 'signed-in-another-chain-id-domain',
    async run(env) {
      // The operator's own key, in the domain of another chain with the same registry address.
      const { chainId, registry } = env.registry.chain
      const signer = createCommandSigner({
        operatorKey: env.registry.operator.privateKey,
        domain: pbjDomain({ chainId: chainId + 1, registry }),
      })
      const command = await next(env, LOCK, { with: signer })
      return expectRefused(env, [{ payload: command, expect: 'bad-signature' }])
    },
  },
  {
    kind: 'signed-for-another-registry',
    async run(env) {
      // The operator's own key, in the domain of another DeviceRegistry on this chain.
      const signer = createCommandSigner({
        operatorKey: env.registry.operator.privateKey,
        domain: pbjDomain({
          chainId: env.registry.chain.chainId,
          registry: `0x${randomBytes(20).toString('hex')}`,
        }),
      })
      const command = await next(env, LOCK, { with: signer })
      return expectRefused(env, [{ payload: command, expect: 'bad-signature' }])
    },
  },
  {
    kind: 'stranger-key-signing-as-itself',
    async run(env) {
      const command = await next(env, LOCK, { with: strangerOf(env) })
      return expectRefused(env, [{ payload: command, expect: 'unauthorized' }])
    },
  },
  {
    kind: 'junk-and-malformed-payloads',
    async run(env) {
      const genuine = await next(env, LOCK)
      const { auth: _, ...unsigned } = genuine
      const payloads: [string, string | Buffer][] = [
        ['random bytes', randomBytes(64)],
        ['text', 'unlock please'],
        ['empty object', '{}'],
        ['JSON null', 'null'],
        ['wrong types', JSON.stringify({ ...genuine, version: 'two' })],
        ['negative version', JSON.stringify({ ...genuine, version: -1 })],
        ['unsigned command', JSON.stringify(unsigned)],
        [
          'auth without signature',
          JSON.stringify({ ...genuine, auth: { ...genuine.auth, signature: '0x' } }),
        ],
        [
          'oversized proof',
          JSON.stringify({ ...genuine, auth: { ...genuine.auth, proof: Array(40).fill(genuine.auth.root) } }),
        ],
        ['20 kB of x', 'x'.repeat(20_000)],
        [
          '1 MB state message',
          JSON.stringify({ ...genuine, state: { ...LOCK, message: 'x'.repeat(1_000_000) } }),
        ],
      ]
      return expectRefused(
        env,
        payloads.map(([label, payload]) => ({ label, payload, expect: 'malformed' as const })),
      )
    },
  },
  {
    kind: 'removed-operator-command-after-removal',
    async run(env) {
      // The car has this key cached as its operator; the command names a block after the removal.
      const { signer } = await removedOperator(env)
      const command = await next(env, LOCK, { with: signer })
      return expectRefused(env, [{ payload: command, expect: 'unauthorized' }])
    },
  },
  {
    kind: 'removed-operator-command-backdated',
    async run(env) {
      // Claims the block the key was still an operator in; the car's poll of the registry's logs (every
      // 2 s by default) has seen the removal by then.
      const { signer, whileOperator } = await removedOperator(env)
      await sleep(2_500)
      const command = await next(env, LOCK, { with: signer, chainTime: whileOperator })
      return expectRefused(env, [{ payload: command, expect: 'unauthorized' }])
    },
  },
  {
    kind: 'removed-operator-command-of-removal-block',
    async run(env) {
      // Signed with the block the key was removed in: the car places it by that number, so its view must
      // cover the removal (or catch up to it) before it answers, whatever the cache said a block before.
      const { signer, removedIn } = await removedOperator(env)
      const command = await next(env, LOCK, {
        with: signer,
        chainBlock: removedIn.number,
        chainTime: removedIn.timestamp,
      })
      return expectRefused(env, [{ payload: command, expect: 'unauthorized' }])
    },
  },
  {
    kind: 'removed-operator-older-block-later-time',
    async run(env) {
      // Claims the last block the key was an operator in, with the removal block's (later) timestamp: a
      // block the car's view covers, a time past it. The time alone makes the car catch up first.
      const { signer, lastAsOperator, removedIn } = await removedOperator(env)
      const command = await next(env, LOCK, {
        with: signer,
        chainBlock: lastAsOperator.number,
        chainTime: removedIn.timestamp,
      })
      return expectRefused(env, [{ payload: command, expect: 'unauthorized' }])
    },
  },
  {
    kind: 'operator-of-another-car',
    async run(env) {
      const signer = strangerOf(env)
      await env.registry.addOperator(env.other.deviceId, signer.address as Hex)
      const command = await next(env, LOCK, { with: signer })
      return expectRefused(env, [{ payload: command, expect: 'unauthorized' }])
    },
  },
  {
    kind: 'randomized-mutations-fuzz',
    async run(env) {
      // The fuzzer's mix (every field of genuine commands mutated, forged and mangled signatures, other
      // signers, replays, stale, expired, junk), against the car at the version of a genuine command of
      // its operator's (a replay of a removed operator's command would be refused as unauthorized first).
      const applied = await env.applyGenuine(UNLOCK)
      const fuzz = createCommandFuzzer({
        registry: env.registry,
        deviceId: env.deviceId,
        otherDeviceId: env.other.deviceId,
        applied,
      })
      const cases = Array.from({ length: env.options.fuzzCount }, () => {
        const c = fuzz.next()
        return {
          label: c.kind,
          payload: c.payload,
          expect: c.expect,
          accepts: (got: string) => fuzz.refusedAsExpected(c, got),
        }
      })
      return expectRefused(env, cases)
    },
  },
  {
    kind: 'flood-of-validly-signed-junk-then-genuine-lock',
    run: floodThenGenuineLock,
  },
]

/**
 * `floodSize` lock commands, each validly signed by a fresh random key with a `chainTime` in the future
 * (each would make a car without limits read the registry), published by the attacker; right behind them
 * the engine publishes a genuine lock. Refused only if the car applied none of the junk and applied the
 * lock; the lock's latency (publish → applied) is in the detail, next to an unflooded genuine command's.
 * A lock later than {@link GENUINE_TIMEOUT_MS} is `unexpected`; one never applied is through (the flood
 * kept the car from its operator).
 */
async function floodThenGenuineLock(env: DeviceEnv): Promise<AttackOutcome> {
  const { floodSize } = env.options
  // Unflooded: the same path, for comparison.
  const quietStart = performance.now()
  await env.applyGenuine(UNLOCK)
  const quietMs = performance.now() - quietStart

  const flood = signFlood({ domain: env.registry.domain, deviceId: env.deviceId, count: floodSize })
  const version = env.car.state().version + 1
  const lock = env.registry.sign({
    deviceId: env.deviceId,
    version,
    commandId: 'genuine-lock-behind-flood',
    state: LOCK,
    chainTime: await env.registry.chainTime(),
  })
  const logBefore = (await env.appliedLog()).length
  const outcomesBefore = env.outcomes.length
  // The lock goes out once the broker acknowledged half the flood: the car is then deep in junk.
  let acked = 0
  let halfAcked = () => {}
  const half = new Promise<void>((resolve) => {
    halfAcked = resolve
  })
  const sent: Promise<unknown>[] = flood.map((payload) =>
    env.attacker.publishAsync(env.topic, payload, { qos: 1 }).then(() => {
      if (++acked >= floodSize / 2) halfAcked()
    }),
  )
  if (floodSize === 0) halfAcked()
  await half
  const decidedBeforeLock = env.outcomes.length - outcomesBefore
  const lockStart = performance.now()
  sent.push(env.engine.publishAsync(env.topic, encode(lock), { qos: 1 }))
  const lockApplied = () =>
    env.outcomes.slice(outcomesBefore).findIndex((o) => o.applied?.commandId === lock.commandId)
  let lockMs: number | undefined
  for (;;) {
    if (lockApplied() >= 0) {
      lockMs = performance.now() - lockStart
      break
    }
    if (performance.now() - lockStart > GENUINE_TIMEOUT_MS) break
    await sleep(2)
  }
  // Every flood message decided (refused or applied) before the log is judged.
  await Promise.all(sent)
  let drained = true
  await env.outcomesReach(outcomesBefore + floodSize + 1, 120_000).catch(() => {
    drained = false
  })
  const logged = (await env.appliedLog()).slice(logBefore)
  const junk = logged.filter((entry) => entry.commandId !== lock.commandId)
  const codes = new Map<string, number>()
  for (const o of env.outcomes.slice(outcomesBefore)) {
    if (o.commandId === lock.commandId) continue
    const code = o.refused?.code ?? 'applied'
    codes.set(code, (codes.get(code) ?? 0) + 1)
  }
  const floodCodes = [...codes].map(([code, n]) => `${n}× ${code}`).join(', ')
  const position = lockApplied()
  const timing =
    lockMs === undefined
      ? `genuine lock not applied within ${GENUINE_TIMEOUT_MS} ms`
      : `genuine lock applied ${Math.round(lockMs)} ms after publish (unflooded genuine command ${Math.round(quietMs)} ms), published once the broker acknowledged half the flood (${decidedBeforeLock} decided by the car), the lock decided after ${position} of ${floodSize} flood messages`
  const detail = `${timing}; flood: ${floodCodes}${drained ? '' : ' (not all decided within 120 s)'}`
  if (junk.length > 0) {
    return {
      gotThrough: true,
      wrongLock: true,
      detail: `the car applied ${junk.length} junk commands, e.g. ${JSON.stringify(junk[0])}; ${detail}`,
    }
  }
  if (!logged.some((entry) => entry.commandId === lock.commandId)) {
    return { gotThrough: true, unexpected: true, detail: `the genuine lock was never applied; ${detail}` }
  }
  if (lockMs === undefined) return { gotThrough: false, unexpected: true, detail: `applied late; ${detail}` }
  return { gotThrough: false, detail }
}

/**
 * The `device` group of `npm run attacks`: starts its own Anvil, broker and car, runs every device attack
 * against them, stops them, and returns the results. Judged from the car's own applied log and refusals.
 *
 * @example
 * const results = await runDeviceAttacks((line) => process.stderr.write(`${line}\n`))
 */
export async function runDeviceAttacks(
  log: (line: string) => void,
  options: DeviceAttackOptions = {},
): Promise<AttackResult[]> {
  const env = await startDeviceEnv(options)
  try {
    return await runAttacks('device', env, deviceAttacks, log)
  } finally {
    await env.stop()
  }
}
