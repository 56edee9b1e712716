import { appendFile } from 'node:fs/promises'
import { endMqtt } from '@pbj/internal/connectMqtt.js'
import { createLock } from '@pbj/internal/createLock.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { connectDeviceClient, whenSubscribed } from './connectDeviceClient.js'
import {
  applyAsIs,
  type CarImmobilizer,
  createCarImmobilizer,
  type ImmobilizerResult,
  noImmobilizer,
} from './createCarImmobilizer.js'
import { createCommandGate, type DeviceChainOptions } from './createCommandGate.js'
import { createCommandLanes } from './createCommandLanes.js'
import { createDeviceReporter } from './createDeviceReporter.js'
import { createTypedHashes } from './createTypedHashes.js'
import { consoleDeviceLogger, type DeviceLogger } from './DeviceLogger.js'
import { deviceLogin } from './deviceLogin.js'
import { type AppliedState, freshDeviceState, loadDeviceState, saveDeviceState } from './deviceStateFile.js'
import { AgentClosedError } from './errors/connection.js'
import { DeviceKeyError } from './errors/keys.js'
import type { ImmobilizerView } from './immobilizer.js'
import { pbjDomain } from './pbjDomain.js'
import { type DesiredMessage, topics } from './protocol.js'
import { addressOf } from './recoverSigner.js'
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

// Command ids a car remembers applying, so a replay is named as such (older ones are refused as stale anyway).
const RECENT_COMMANDS = 32

/**
 * Runs the device side of the protocol: receives desired state, applies it, and acknowledges with a
 * retained report. Starts even when the broker is down and keeps reconnecting; await `ready` to know it is
 * subscribed. The session is clean on purpose: the desired topic is retained, so on every (re)connect the
 * car gets only the latest command instead of a persistent session replaying each lock/unlock it missed.
 * Composed of the car's connection (connectDeviceClient), the lanes commands wait in to be judged
 * (createCommandLanes, through the gate's replay and stale checks), its reports (createDeviceReporter)
 * and its stateFile (deviceStateFile); applying a command, and the immobilizer's say in it, is here.
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
  const logger = options.logger ?? consoleDeviceLogger
  const warn = dedupe((message) => logger.warn(message, { deviceId }))
  const startedAt = Date.now()
  const hashes = createTypedHashes(
    pbjDomain({ chainId: options.chain.chainId, registry: options.chain.registry }),
  )

  const loaded = options.stateFile
    ? await loadDeviceState(options.stateFile, startedAt, warn)
    : freshDeviceState(startedAt)
  let current: AppliedState = loaded.applied
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
  const isClosed = () => closed
  // Persisting must happen in order, and close() waits for it.
  const persisting = createLock()

  // Signed anew at every attempt: a login is only valid for a few minutes around its time.
  const login = () =>
    options.username === undefined && options.password === undefined
      ? deviceLogin(options.deviceKey)
      : {
          ...(options.username === undefined ? {} : { username: options.username }),
          ...(options.password === undefined ? {} : { password: options.password }),
        }
  const client = connectDeviceClient({
    brokerUrl: options.brokerUrl,
    deviceId,
    protocolVersion: options.protocolVersion ?? 4,
    login,
  })

  const gate = createCommandGate({ deviceId, hashes, chain: options.chain, logger: { warn } })
  const reporter = createDeviceReporter({
    client,
    deviceId,
    deviceKey: options.deviceKey,
    hashes,
    topic: names.reported(deviceId),
    immobilizer,
    current: () => current,
    isClosed,
    warn,
  })

  const reject = (reason: string, raw: unknown, code: RefusalCode, tellEngine: boolean): void => {
    try {
      options.onRejected?.(reason, raw, code)
    } catch (cause) {
      // It runs inside mqtt.js's message handler, where a throw would take the whole car process down.
      warn(`car ${deviceId}: onRejected threw: ${messageOf(cause)}`)
    }
    if (tellEngine) reporter.refused(reason)
  }

  const apply = (message: DesiredMessage): void => {
    const {
      locked,
      message: text,
      refused,
    } = immobilizer?.apply(message.state, message.chainTime) ?? applyAsIs(message.state)
    const applied: AppliedState = {
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
    void persisting.run(async () => {
      if (stateFile) {
        try {
          await saveDeviceState(stateFile, applied, remembered)
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
      reporter.report(applied, error)
    })
  }

  const lanes = createCommandLanes({
    deviceId,
    gate,
    applied: () => ({ version: current.version, commandIds: recent }),
    apply,
    reject,
    isClosed,
    warn,
    maxQueuedUnknown: options.maxQueuedUnknown,
  })
  client.on('message', (topic, payload) => {
    if (topic !== desiredTopic) return
    // An empty retained payload means someone cleared the command; there is nothing to apply.
    if (payload.length === 0) return
    lanes.receive(payload)
  })

  const withImmobilizer = (state: DeviceState): DeviceState =>
    immobilizer ? { ...state, immobilizer: immobilizer.view() } : state
  // What the driver and the clock change (a disable arming at ignition-off, an emergency restart): reported
  // under the same version, so the engine sees the car's state without it counting as a new command.
  let sensed = ''
  const sense = (): void => {
    if (!immobilizer) return
    const { message: _, ...rest } = current
    const next: AppliedState = { ...rest, ...effect(immobilizer), appliedAt: Date.now() }
    const shown = JSON.stringify([next.locked, next.message, immobilizer.report()])
    if (shown === sensed || closed) return
    sensed = shown
    current = next
    try {
      options.onChange?.(withImmobilizer(publicState(current)))
    } catch (cause) {
      warn(`car ${deviceId}: onChange threw: ${messageOf(cause)}`)
    }
    reporter.report(current)
  }
  const drive = (result: ImmobilizerResult): ImmobilizerResult => {
    sense()
    return result
  }

  // Every (re)connect re-announces the current state so the engine learns what the car did while offline.
  client.on('connect', () => reporter.report(current))
  client.on('error', (error) => warn(`car ${deviceId}: ${error.message}`))
  // Callers may never await `ready`; its failure must not crash the car's process.
  const subscribed = whenSubscribed(client, desiredTopic, options.brokerUrl)

  return {
    deviceId,
    state: () => withImmobilizer(publicState(current)),
    ready: subscribed.ready,
    ignition: (on) => drive((immobilizer ?? noImmobilizer).ignition(on)),
    setSpeed: (kmh) => drive((immobilizer ?? noImmobilizer).setSpeed(kmh)),
    enterEmergencyCode: (code) => drive((immobilizer ?? noImmobilizer).enterEmergencyCode(code)),
    close: () => {
      closing ??= (async () => {
        closed = true
        subscribed.cancel(new AgentClosedError({ deviceId }))
        reporter.close()
        await lanes.close()
        await gate.close()
        await persisting.idle()
        await immobilizer?.close()
        await endMqtt(client)
      })()
      return closing
    },
  }
}

function publicState(applied: AppliedState): DeviceState {
  const { appliedAt: _, ...state } = applied
  return state
}

function deviceIdOf(options: Pick<DeviceAgentOptions, 'deviceKey' | 'deviceId'>): string {
  let id: string
  try {
    id = addressOf(options.deviceKey)
  } catch (cause) {
    throw new DeviceKeyError({ reason: 'not-a-key', cause })
  }
  if (options.deviceId !== undefined && options.deviceId.toLowerCase() !== id) {
    throw new DeviceKeyError({ reason: 'mismatch', deviceId: options.deviceId, address: id })
  }
  return id
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
