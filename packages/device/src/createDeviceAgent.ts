import { appendFile, readFile, rename, writeFile } from 'node:fs/promises'
import { connect, type IClientOptions, type MqttClient } from 'mqtt'
import { z } from 'zod'
import {
  applyAsIs,
  type CarImmobilizer,
  createCarImmobilizer,
  type ImmobilizerResult,
  noImmobilizer,
} from './createCarImmobilizer.js'
import { createCommandGate, type DeviceChainOptions } from './createCommandGate.js'
import { createTypedHashes } from './createTypedHashes.js'
import { DeviceError } from './DeviceError.js'
import { consoleDeviceLogger, type DeviceLogger } from './DeviceLogger.js'
import { deviceLogin } from './deviceLogin.js'
import type { ImmobilizerView } from './immobilizer.js'
import { pbjDomain } from './pbjDomain.js'
import { type DesiredMessage, encode, type ReportedMessage, topics } from './protocol.js'
import { addressOf, signDigest } from './recoverSigner.js'
import type { RefusalCode } from './verifyDesired.js'

/**
 * What the car is doing now: the last desired state it applied.
 *
 * @example
 * const { locked, message, version } = agent.state()
 */
export type DeviceState = {
  locked: boolean
  message?: string
  /** Version of the desired message last applied; 0 if none. */
  version: number
  commandId: string | null
  /**
   * What the starter interrupt does (see immobilizer.ts): `locked` is true once a disable took effect, which
   * waits for the ignition to be off; warnings, a pending disable and emergency restarts are here.
   */
  immobilizer?: ImmobilizerView
}

/**
 * One command the car actually applied: what {@link DeviceAgentOptions.onApplied} receives and each line of
 * {@link DeviceAgentOptions.logFile}. The same `commandId` twice in a car's log is a duplicate effect.
 *
 * @example
 * const entry: AppliedEntry = { commandId: 'job-7:0', version: 3, locked: true, at: 1718000000000 }
 */
export type AppliedEntry = { commandId: string; version: number; locked: boolean; at: number }

/**
 * Options of {@link createDeviceAgent}.
 *
 * @example
 * const options: DeviceAgentOptions = {
 *   brokerUrl: 'mqtt://127.0.0.1:1883', protocolVersion: 5, deviceKey: car.devicePrivateKey,
 *   chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, registry: contracts.DeviceRegistry },
 * }
 */
export type DeviceAgentOptions = {
  brokerUrl: string
  /**
   * The car's private key (0x + 64 hex digits). Its address is the car's id, as registered in DeviceRegistry;
   * the car signs its reports with it so the engine knows they come from the car.
   */
  deviceKey: string
  /** The car's id, if given: must be the address of `deviceKey` (a guard against a mixed-up key). */
  deviceId?: string
  /**
   * Where commands are verified against: the chain id and DeviceRegistry of the EIP-712 domain, and the node
   * the car reads the registry through (whether a command's signer is an operator of this car).
   */
  chain: DeviceChainOptions
  topicPrefix?: string
  /** MQTT 3.1.1 (4, the default; what aedes speaks) or MQTT 5 (Mosquitto speaks both). */
  protocolVersion?: 4 | 5
  /**
   * Broker credentials, for a broker with a password file (Mosquitto, see docs/mosquitto). Without them the
   * car logs in with its key (see {@link deviceLogin}): its id as username and a fresh signature as
   * password at every (re)connect, which pbj's embedded broker checks.
   */
  username?: string
  password?: string
  /** JSON file keeping the applied version across restarts, so a rebooted car still refuses replays. */
  stateFile?: string
  /** Called after each applied desired message. If it throws, the report carries the error. */
  onChange?: (state: DeviceState) => void
  /**
   * Called once per command actually applied, never for a stale or replayed one: the car's own record of
   * its effects, for counting them. A throw is reported as a warning.
   */
  onApplied?: (entry: AppliedEntry) => void
  /**
   * File each applied command is appended to as a JSON line ({@link AppliedEntry}), before the car reports
   * it, so that whoever sees the report can count it in the log.
   */
  logFile?: string
  /**
   * Called when a desired message is refused, with why (`code` says which check failed); `raw` is the
   * parsed message, or the payload if unreadable. The car's state is unchanged.
   */
  onRejected?: (reason: string, raw: unknown, code: RefusalCode) => void
  /** Where connection trouble and failed reports are warned about; defaults to console.warn. */
  logger?: DeviceLogger | undefined
  /**
   * A car: commands go through the immobilizer's safety rules (immobilizer.ts): warnings before any disable,
   * never disabled while moving, emergency restarts. Off (the default) for other devices, which apply
   * `locked` as it comes; the simulated car turns it on.
   */
  immobilizer?: boolean
  /** The code that unlocks an emergency restart of a disabled car; by default any code of 4 to 8 digits. */
  emergencyCode?: string
  /** The wall clock emergency restarts run on (ms); default Date.now. */
  clock?: () => number
  /**
   * How many messages from signers the car does not know as operators may wait; beyond, each is refused
   * `overloaded` at once. Default 1024. Commands of known operators never wait behind these.
   */
  maxQueuedUnknown?: number
}

/**
 * A running device agent.
 *
 * @example
 * const agent = await createDeviceAgent({ brokerUrl, deviceId })
 * await agent.ready
 * console.log(agent.state().locked)
 * await agent.close()
 */
export type DeviceAgent = {
  deviceId: string
  state(): DeviceState
  /**
   * Resolves once connected and subscribed to the desired topic. Rejects if the broker refuses the
   * connection or subscription, or the agent is closed first. The agent keeps retrying either way.
   */
  ready: Promise<void>
  /**
   * The ignition key. Turning it on is refused while the car is disabled (unless an emergency restart
   * runs); turning it off arms a pending disable once the car stands still. Reports what changed.
   */
  ignition(on: boolean): ImmobilizerResult
  /** The car's speed: a disable never arms while it is above 0. */
  setSpeed(kmh: number): ImmobilizerResult
  /** An emergency code: allows starts for the loan's emergencyDuration, emergencyStarts times per delinquency. */
  enterEmergencyCode(code: string): ImmobilizerResult
  close(): Promise<void>
}

type Applied = DeviceState & { appliedAt: number }

const PersistedState = z.object({
  version: z.number().int().nonnegative(),
  commandId: z.string().nullable(),
  locked: z.boolean(),
  message: z.string().optional(),
  appliedAt: z.number().int().nonnegative(),
  recent: z.array(z.string()).max(64).optional(),
})

// Command ids a car remembers applying, so a replay is named as such (older ones are refused as stale anyway).
const RECENT_COMMANDS = 32
// Refusals the car reports to the engine: a burst of 5, then one a second. A flood of forged commands
// must not make the car flood the broker with signed reports (each also costs the car a signature).
const REFUSAL_REPORTS = { burst: 5, perMs: 1_000 }

/**
 * Runs the device side of the protocol: receives desired state, applies it, and acknowledges with a
 * retained report. Starts even when the broker is down and keeps reconnecting; await `ready` to know it is
 * subscribed. The session is clean on purpose: the desired topic is retained, so on every (re)connect the
 * car gets only the latest command instead of a persistent session replaying each lock/unlock it missed.
 *
 * @example
 * const agent = await createDeviceAgent({
 *   brokerUrl: 'mqtt://127.0.0.1:1883',
 *   deviceId: account.address,
 *   onChange: (state) => display.show(state.locked ? state.message : 'Drive safely'),
 * })
 * await agent.ready
 */
export async function createDeviceAgent(options: DeviceAgentOptions): Promise<DeviceAgent> {
  const deviceId = deviceIdOf(options)
  const names = topics(options.topicPrefix)
  const desiredTopic = names.desired(deviceId)
  const reportedTopic = names.reported(deviceId)
  const logger = options.logger ?? consoleDeviceLogger
  const warn = dedupe((message) => logger.warn(message, { deviceId }))
  const startedAt = Date.now()
  const hashes = createTypedHashes(
    pbjDomain({ chainId: options.chain.chainId, registry: options.chain.registry }),
  )

  const loaded = options.stateFile
    ? await loadState(options.stateFile, startedAt, warn)
    : { applied: { locked: false, version: 0, commandId: null, appliedAt: startedAt }, recent: [] }
  let current: Applied = loaded.applied
  let recent: string[] = loaded.recent
  // The starter interrupt's safety rules decide what an applied command does (immobilizer.ts): what the car
  // reports as `locked` is what it does, which may wait for the ignition to go off.
  const immobilizer: CarImmobilizer | null = options.immobilizer
    ? await createCarImmobilizer({
        stateFile: options.stateFile === undefined ? undefined : `${options.stateFile}.immobilizer`,
        emergencyCode: options.emergencyCode,
        now: options.clock,
        onTimer: () => sense(),
        logger: { warn },
      })
    : null
  const effect = (car: CarImmobilizer) => {
    const view = car.view()
    return { locked: view.locked, ...(view.message === null ? {} : { message: view.message }) }
  }
  if (immobilizer) {
    const { message: _, ...rest } = current
    current = { ...rest, ...effect(immobilizer) }
  }
  let closed = false
  let closing: Promise<void> | undefined
  // Persisting must happen in order, and close() waits for it.
  let pending: Promise<void> = Promise.resolve()

  // Signed anew at every attempt: a login is only valid for a few minutes around its time.
  const login = () =>
    options.username === undefined && options.password === undefined
      ? deviceLogin(options.deviceKey)
      : {
          ...(options.username === undefined ? {} : { username: options.username }),
          ...(options.password === undefined ? {} : { password: options.password }),
        }
  const client = connectClient(options.brokerUrl, {
    // The device id, which brokers that guard sessions require (the embedded one, Mosquitto with
    // use_username_as_clientid): no other client can then take over the car's session and keep it offline.
    clientId: deviceId,
    protocolVersion: options.protocolVersion ?? 4,
    clean: true,
    reconnectPeriod: 500,
    // A car never gives up: credentials fixed on the broker side must not need a reboot.
    reconnectOnConnackError: true,
    connectTimeout: 5_000,
    keepalive: 30,
    ...login(),
  })
  client.on('reconnect', () => Object.assign(client.options, login()))

  const gate = createCommandGate({ deviceId, hashes, chain: options.chain, logger: { warn } })

  const report = (applied: Applied, error?: string): void => {
    const unsigned: Omit<ReportedMessage, 'signature'> = {
      type: 'reported',
      deviceId,
      version: applied.version,
      commandId: applied.commandId,
      state: {
        locked: applied.locked,
        ...(applied.message === undefined ? {} : { message: applied.message }),
        ...(immobilizer ? { immobilizer: immobilizer.report() } : {}),
      },
      appliedAt: applied.appliedAt,
      ...(error === undefined ? {} : { error }),
    }
    // Signed with the car's own key: the engine counts only reports that recover to this car's id.
    const message: ReportedMessage = {
      ...unsigned,
      signature: signDigest(hashes.reportDigest(unsigned), options.deviceKey),
    }
    // Not awaited: mqtt.js keeps publish order, and an offline car must not stall on PUBACK.
    client.publishAsync(reportedTopic, encode(message), { qos: 1, retain: true }).catch((cause: unknown) => {
      if (!closed) warn(`car ${deviceId}: report v${applied.version} not delivered: ${messageOf(cause)}`)
    })
  }

  let refusalTokens = REFUSAL_REPORTS.burst
  let refusalRefill: NodeJS.Timeout | undefined
  let heldRefusal: string | undefined
  const reportRefusal = (reason: string) => {
    if (refusalTokens > 0) {
      refusalTokens--
      report(current, reason)
    } else heldRefusal = reason
    refusalRefill ??= setInterval(() => {
      if (heldRefusal !== undefined && !closed) report(current, heldRefusal)
      else if (refusalTokens < REFUSAL_REPORTS.burst) refusalTokens++
      else {
        clearInterval(refusalRefill)
        refusalRefill = undefined
      }
      heldRefusal = undefined
    }, REFUSAL_REPORTS.perMs)
    refusalRefill.unref()
  }

  const reject = (reason: string, raw: unknown, code: RefusalCode, tellEngine: boolean): void => {
    try {
      options.onRejected?.(reason, raw, code)
    } catch (cause) {
      // It runs inside mqtt.js's message handler, where a throw would take the whole car process down.
      warn(`car ${deviceId}: onRejected threw: ${messageOf(cause)}`)
    }
    // The last of a burst is held, not lost: the engine hears the latest refusal within a second.
    if (tellEngine) reportRefusal(reason)
  }

  const apply = (message: DesiredMessage): void => {
    const {
      locked,
      message: text,
      refused,
    } = immobilizer?.apply(message.state, message.chainTime) ?? applyAsIs(message.state)
    const applied: Applied = {
      locked,
      ...(text === undefined ? {} : { message: text }),
      version: message.version,
      commandId: message.commandId,
      appliedAt: Date.now(),
    }
    current = applied
    recent = [message.commandId, ...recent].slice(0, RECENT_COMMANDS)
    const remembered = recent
    // A disable the immobilizer refused (no warning shown long enough) is applied as the warning instead.
    let error: string | undefined = refused
    try {
      options.onChange?.(withImmobilizer(publicState(applied)))
    } catch (cause) {
      error = `onChange threw: ${messageOf(cause)}`
    }
    const entry: AppliedEntry = {
      commandId: message.commandId,
      version: message.version,
      locked,
      at: applied.appliedAt,
    }
    try {
      options.onApplied?.(entry)
    } catch (cause) {
      warn(`car ${deviceId}: onApplied threw: ${messageOf(cause)}`)
    }
    const { stateFile, logFile } = options
    pending = pending.then(async () => {
      if (stateFile) {
        try {
          await saveState(stateFile, applied, remembered)
        } catch (cause) {
          error ??= `could not persist state: ${messageOf(cause)}`
        }
      }
      if (logFile) {
        // After the state is saved: a line in the log is an effect the car will not apply again.
        await appendFile(logFile, `${JSON.stringify(entry)}\n`).catch((cause: unknown) => {
          warn(`car ${deviceId}: could not append to logFile ${logFile}: ${messageOf(cause)}`)
        })
      }
      report(applied, error)
    })
  }

  // Two lanes, so that a flood of validly signed junk never delays the car's operator. A message naming a
  // signer the car knows as its operator is judged at once, in arrival order behind the other such
  // messages only (the registry check is async, and a command must be weighed against the state the one
  // before it left). Everything else (strangers, junk, an operator the car has not met yet) waits in a
  // bounded queue judged one message per turn of the event loop, so reading the socket, and with it a
  // genuine command, always gets in between. Which lane is picked by the signer the message names, before
  // any signature check: a forgery naming the operator takes the first lane and is refused there for its
  // signature, at no RPC. Both lanes order against what is applied when the verdict is in, so versions only
  // go forward whichever lane a command came through.
  let inbox: Promise<void> = Promise.resolve()
  const unknown: { payload: Uint8Array; seq: number; retryDelayMs: number }[] = []
  const maxQueuedUnknown = Math.max(1, options.maxQueuedUnknown ?? 1_024)
  let draining: Promise<void> | null = null
  let received = 0
  let retryTimer: NodeJS.Timeout | undefined
  const handled = (payload: Uint8Array, seq: number, retryDelayMs: number) =>
    handle(payload, seq, retryDelayMs).catch((cause: unknown) => {
      warn(`car ${deviceId}: desired message not handled: ${messageOf(cause)}`)
    })
  const drain = async () => {
    for (let next = unknown.shift(); next && !closed; next = unknown.shift()) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (!closed) await handled(next.payload, next.seq, next.retryDelayMs)
    }
    draining = null
  }
  const enqueue = (payload: Uint8Array, seq: number, retryDelayMs: number) => {
    if (gate.fromKnownOperator(payload)) {
      inbox = inbox.then(() => handled(payload, seq, retryDelayMs))
      return
    }
    if (unknown.length >= maxQueuedUnknown) {
      const reason = `${maxQueuedUnknown} messages from signers this car does not know as operators are already waiting; dropped`
      reject(reason, payload, 'overloaded', false)
      return
    }
    unknown.push({ payload, seq, retryDelayMs })
    draining ??= drain()
  }
  const handle = async (payload: Uint8Array, seq: number, retryDelayMs: number) => {
    const checked = await gate.check(payload)
    if (closed) return
    const applied = () => ({ version: current.version, commandIds: recent })
    let verdict = gate.order(checked, applied())
    if (verdict.ok && verdict.message.state.locked) {
      // The car's own loan read (when it knows its loan) waits on the node: order again after it, as a
      // command of the other lane may have been applied meanwhile.
      verdict = await gate.confirmLock(verdict)
      if (closed) return
      verdict = gate.order(verdict, applied())
    }
    if (verdict.ok) return apply(verdict.message)
    reject(verdict.reason, verdict.raw, verdict.code, verdict.tellEngine)
    if (verdict.code === 'unverifiable' && seq === received) {
      // The registry was out of reach, not the command at fault: look again later, unless a newer one came.
      retryTimer = setTimeout(() => {
        if (seq === received && !closed) enqueue(payload, seq, Math.min(retryDelayMs * 2, 30_000))
      }, retryDelayMs)
      retryTimer.unref()
    }
  }

  client.on('message', (topic, payload) => {
    if (topic !== desiredTopic) return
    // An empty retained payload means someone cleared the command; there is nothing to apply.
    if (payload.length === 0) return
    clearTimeout(retryTimer)
    enqueue(payload, ++received, 1_000)
  })

  const withImmobilizer = (state: DeviceState): DeviceState =>
    immobilizer ? { ...state, immobilizer: immobilizer.view() } : state
  // What the driver and the clock change (a disable arming at ignition-off, an emergency restart): reported
  // under the same version, so the engine sees the car's state without it counting as a new command.
  let sensed = ''
  const sense = (): void => {
    if (!immobilizer) return
    const { message: _, ...rest } = current
    const next: Applied = { ...rest, ...effect(immobilizer), appliedAt: Date.now() }
    const shown = JSON.stringify([next.locked, next.message, immobilizer.report()])
    if (shown === sensed || closed) return
    sensed = shown
    current = next
    try {
      options.onChange?.(withImmobilizer(publicState(current)))
    } catch (cause) {
      warn(`car ${deviceId}: onChange threw: ${messageOf(cause)}`)
    }
    report(current)
  }
  const drive = (result: ImmobilizerResult): ImmobilizerResult => {
    sense()
    return result
  }

  // Every (re)connect re-announces the current state so the engine learns what the car did while offline.
  client.on('connect', () => report(current))
  client.on('error', (error) => warn(`car ${deviceId}: ${error.message}`))

  let rejectReady: (error: Error) => void = () => {}
  const ready = new Promise<void>((resolve, rejectPromise) => {
    rejectReady = rejectPromise
    const refused = (error: Error & { code?: unknown }) => {
      if (typeof error.code === 'number') rejectPromise(brokerRefused(options.brokerUrl, error))
    }
    client.on('error', refused)
    client.once('connect', () => {
      client.off('error', refused)
      client.subscribeAsync(desiredTopic, { qos: 1 }).then((granted) => {
        const qos = granted[0]?.qos ?? 128
        if (qos < 128) return resolve()
        rejectPromise(new DeviceError(`broker refused subscription to ${desiredTopic} (${qos})`))
      }, rejectPromise)
    })
  })
  // Callers may never await `ready`; its failure must not crash the car's process.
  ready.catch(() => {})

  return {
    deviceId,
    state: () => withImmobilizer(publicState(current)),
    ready,
    ignition: (on) => drive((immobilizer ?? noImmobilizer).ignition(on)),
    setSpeed: (kmh) => drive((immobilizer ?? noImmobilizer).setSpeed(kmh)),
    enterEmergencyCode: (code) => drive((immobilizer ?? noImmobilizer).enterEmergencyCode(code)),
    close: () => {
      closing ??= (async () => {
        closed = true
        rejectReady(new DeviceError(`car ${deviceId} agent closed before it was ready`))
        clearTimeout(retryTimer)
        clearInterval(refusalRefill)
        unknown.length = 0
        await inbox
        await draining
        await gate.close()
        await pending
        await immobilizer?.close()
        await endClient(client)
      })()
      return closing
    },
  }
}

function connectClient(url: string, options: IClientOptions): MqttClient {
  let client: MqttClient
  try {
    client = connect(url, options)
  } catch (cause) {
    throw new DeviceError(`brokerUrl "${url}" is not a usable MQTT URL: ${messageOf(cause)}`, { cause })
  }
  // Nagle would hold the report behind the PUBACK just sent and add tens of ms to every ack.
  const noDelay = () =>
    (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true)
  noDelay()
  client.on('connect', noDelay)
  return client
}

async function endClient(client: MqttClient): Promise<void> {
  // A graceful end flushes the last report but waits forever on a dead broker, so it gets a deadline.
  if (!client.connected) return client.endAsync(true)
  const graceful = client.endAsync(false)
  const timer = new Promise<'late'>((resolve) => setTimeout(resolve, 1_000, 'late').unref())
  if ((await Promise.race([graceful, timer])) === 'late') await client.endAsync(true)
}

type Loaded = { applied: Applied; recent: string[] }

async function loadState(file: string, now: number, warn: (message: string) => void): Promise<Loaded> {
  const fresh: Loaded = {
    applied: { locked: false, version: 0, commandId: null, appliedAt: now },
    recent: [],
  }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ENOENT') return fresh
    throw new DeviceError(`cannot read stateFile ${file}: ${messageOf(cause)}`, { cause })
  }
  try {
    const { message, recent = [], ...rest } = PersistedState.parse(JSON.parse(text))
    return { applied: { ...rest, ...(message === undefined ? {} : { message }) }, recent }
  } catch (cause) {
    // Starting at version 0 is safe: the retained desired message puts the car back in the right state.
    warn(`stateFile ${file} is unreadable, starting at version 0: ${messageOf(cause)}`)
    return fresh
  }
}

async function saveState(file: string, applied: Applied, recent: readonly string[]): Promise<void> {
  // Write-then-rename so a power cut never leaves half a file.
  const temp = `${file}.tmp`
  await writeFile(temp, JSON.stringify({ ...applied, recent }))
  await rename(temp, file)
}

function publicState(applied: Applied): DeviceState {
  const { appliedAt: _, ...state } = applied
  return state
}

function deviceIdOf(options: Pick<DeviceAgentOptions, 'deviceKey' | 'deviceId'>): string {
  let id: string
  try {
    id = addressOf(options.deviceKey)
  } catch (cause) {
    throw new DeviceError(`deviceKey is not a private key: ${messageOf(cause)}`, { cause })
  }
  if (options.deviceId !== undefined && options.deviceId.toLowerCase() !== id) {
    throw new DeviceError(`deviceId ${options.deviceId} is not the address of deviceKey (${id})`)
  }
  return id
}

function brokerRefused(url: string, error: Error): DeviceError {
  return new DeviceError(`broker at ${url} refused the connection: ${error.message}`, { cause: error })
}

function dedupe(warn: (message: string) => void): (message: string) => void {
  // A car waiting for its broker would otherwise log the same ECONNREFUSED twice a second.
  let last: string | undefined
  return (message) => {
    if (message === last) return
    last = message
    warn(message)
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
