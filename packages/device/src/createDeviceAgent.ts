import { appendFile, readFile, rename, writeFile } from 'node:fs/promises'
import { connect, type IClientOptions, type MqttClient } from 'mqtt'
import { z } from 'zod'
import { DeviceError } from './DeviceError.js'
import { type DesiredMessage, encode, parseDesired, type ReportedMessage, topics } from './protocol.js'

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
 * const options: DeviceAgentOptions = { brokerUrl: 'mqtt://127.0.0.1:1883', deviceId: '0xab…', protocolVersion: 5 }
 */
export type DeviceAgentOptions = {
  brokerUrl: string
  /** The car's own key address; lowercased before use. */
  deviceId: string
  topicPrefix?: string
  /** MQTT 3.1.1 (4, the default; what aedes speaks) or MQTT 5 (Mosquitto speaks both). */
  protocolVersion?: 4 | 5
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
  /** Called when a desired message is refused; `raw` is the parsed message, or the payload if unreadable. */
  onRejected?: (reason: string, raw: unknown) => void
  /** Connection trouble and failed reports; defaults to console.warn. */
  onWarning?: (message: string) => void
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
  close(): Promise<void>
}

type Applied = DeviceState & { appliedAt: number }

const PersistedState = z.object({
  version: z.number().int().nonnegative(),
  commandId: z.string().nullable(),
  locked: z.boolean(),
  message: z.string().optional(),
  appliedAt: z.number().int().nonnegative(),
})

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
  const deviceId = options.deviceId.toLowerCase()
  const names = topics(options.topicPrefix)
  const desiredTopic = names.desired(deviceId)
  const reportedTopic = names.reported(deviceId)
  const warn = dedupe(options.onWarning ?? ((message) => console.warn(message)))
  const startedAt = Date.now()

  let current: Applied = options.stateFile
    ? await loadState(options.stateFile, startedAt, warn)
    : { locked: false, version: 0, commandId: null, appliedAt: startedAt }
  let closed = false
  let closing: Promise<void> | undefined
  // Persisting must happen in order, and close() waits for it.
  let pending: Promise<void> = Promise.resolve()

  const client = connectClient(options.brokerUrl, {
    clientId: `car-${deviceId}`,
    protocolVersion: options.protocolVersion ?? 4,
    clean: true,
    reconnectPeriod: 500,
    // A car never gives up: credentials fixed on the broker side must not need a reboot.
    reconnectOnConnackError: true,
    connectTimeout: 5_000,
    keepalive: 30,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
  })

  const report = (applied: Applied, error?: string): void => {
    const message: ReportedMessage = {
      type: 'reported',
      deviceId,
      version: applied.version,
      commandId: applied.commandId,
      state: {
        locked: applied.locked,
        ...(applied.message === undefined ? {} : { message: applied.message }),
      },
      appliedAt: applied.appliedAt,
      ...(error === undefined ? {} : { error }),
    }
    // Not awaited: mqtt.js keeps publish order, and an offline car must not stall on PUBACK.
    client.publishAsync(reportedTopic, encode(message), { qos: 1, retain: true }).catch((cause: unknown) => {
      if (!closed) warn(`car ${deviceId}: report v${applied.version} not delivered: ${messageOf(cause)}`)
    })
  }

  const reject = (reason: string, raw: unknown, tellEngine: boolean): void => {
    try {
      options.onRejected?.(reason, raw)
    } catch (cause) {
      // It runs inside mqtt.js's message handler, where a throw would take the whole car process down.
      warn(`car ${deviceId}: onRejected threw: ${messageOf(cause)}`)
    }
    if (tellEngine) report(current, reason)
  }

  const apply = (message: DesiredMessage): void => {
    const { locked, message: text } = message.state
    const applied: Applied = {
      locked,
      ...(text === undefined ? {} : { message: text }),
      version: message.version,
      commandId: message.commandId,
      appliedAt: Date.now(),
    }
    current = applied
    let error: string | undefined
    try {
      options.onChange?.(publicState(applied))
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
          await saveState(stateFile, applied)
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

  client.on('message', (topic, payload) => {
    if (topic !== desiredTopic) return
    // An empty retained payload means someone cleared the command; there is nothing to apply.
    if (payload.length === 0) return
    const parsed = parseDesired(payload)
    if (!parsed.ok) return reject(`malformed desired message: ${parsed.error}`, payload, true)
    const message = parsed.value
    if (message.deviceId !== deviceId) {
      return reject(`desired message is for ${message.deviceId}, not this car`, message, true)
    }
    if (message.version <= current.version) {
      // Replays and redeliveries land here; answering them would only repeat the last report.
      return reject(
        `stale version ${message.version}: version ${current.version} already applied`,
        message,
        false,
      )
    }
    apply(message)
  })

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
    state: () => publicState(current),
    ready,
    close: () => {
      closing ??= (async () => {
        closed = true
        rejectReady(new DeviceError(`car ${deviceId} agent closed before it was ready`))
        await pending
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

async function loadState(file: string, now: number, warn: (message: string) => void): Promise<Applied> {
  const fresh: Applied = { locked: false, version: 0, commandId: null, appliedAt: now }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ENOENT') return fresh
    throw new DeviceError(`cannot read stateFile ${file}: ${messageOf(cause)}`, { cause })
  }
  try {
    const { message, ...rest } = PersistedState.parse(JSON.parse(text))
    return { ...rest, ...(message === undefined ? {} : { message }) }
  } catch (cause) {
    // Starting at version 0 is safe: the retained desired message puts the car back in the right state.
    warn(`stateFile ${file} is unreadable, starting at version 0: ${messageOf(cause)}`)
    return fresh
  }
}

async function saveState(file: string, applied: Applied): Promise<void> {
  // Write-then-rename so a power cut never leaves half a file.
  const temp = `${file}.tmp`
  await writeFile(temp, JSON.stringify(applied))
  await rename(temp, file)
}

function publicState(applied: Applied): DeviceState {
  const { appliedAt: _, ...state } = applied
  return state
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
