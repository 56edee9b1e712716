import {
  DesiredMessage,
  encode,
  type PbjDomain,
  parseReported,
  type ReportedMessage,
  type Topics,
  topics,
} from '@pbj/device'
import { connectMqtt, endMqtt } from '@pbj/internal/connectMqtt.js'
import { createLock } from '@pbj/internal/createLock.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { withTimeout } from '@pbj/internal/withTimeout.js'
import type { IClientOptions, MqttClient } from 'mqtt'
import {
  BrokerConnectError,
  BrokerError,
  BrokerPublishError,
  BrokerUrlError,
  InternalError,
  TopicPrefixError,
} from '../../internal/errors.js'
import { createLogger, type LogFields, type Logger } from '../../internal/logger.js'
import { now } from '../../internal/now.js'
import { createReportVerifier } from './createReportVerifier.js'
import { embeddedBrokerLogin } from './embeddedBrokerLogin.js'
import { type InProcessBroker, inProcessBroker } from './inProcessBroker.js'
import type { BrokerConnection, ReportedListener } from './types.js'

/**
 * Options of {@link createMqttBroker}.
 *
 * @example
 * const options: MqttBrokerOptions = { url: 'mqtt://127.0.0.1:1883', protocolVersion: 5 }
 */
export type MqttBrokerOptions = {
  url: string
  /**
   * Base of the two client ids, `<clientId>-pub` and `<clientId>-sub` (see below why two). Defaults to a
   * random `pbj-engine-…`; two engines must not share one.
   */
  clientId?: string
  topicPrefix?: string
  /**
   * 4 = MQTT 3.1.1 (the default; the embedded aedes broker speaks only this), 5 = MQTT 5 (Mosquitto and
   * most external brokers).
   */
  protocolVersion?: 4 | 5
  /**
   * Credentials. Unset, and `url` is an embedded broker of this process (startEmbeddedBroker), its
   * generated engine credentials are used.
   */
  username?: string
  password?: string
  /**
   * Connections to the broker: 2 (commands out, reports in; see below why) or 1. Default: 2 without
   * `username`, 1 with it. A broker that makes the username the client id (Mosquitto with
   * `use_username_as_clientid`, as docs/mosquitto sets so no client can take over a car's session) would
   * have two connections of one user take each other over; the documented config also sets
   * `set_tcp_nodelay`, so one connection loses nothing there.
   */
  connections?: 1 | 2
  /** Where dropped reports, failed subscriptions and connection trouble are warned about. Default: stderr. */
  logger?: Pick<Logger, 'warn'> | undefined
  /** How long to wait for the first connection. Default 5000 ms. */
  connectTimeoutMs?: number
  /** How long publishDesired waits for the PUBACK of a connected broker. Default 5000 ms. */
  publishTimeoutMs?: number
  /**
   * The EIP-712 domain (chain id, DeviceRegistry) devices sign their reports in. A report reaches the
   * listeners only once its signature recovers to its device id; without a domain no report can be
   * verified, and all are dropped with a warning.
   */
  domain?: PbjDomain | undefined
}

/**
 * Connects the engine to an MQTT broker and returns the {@link BrokerConnection} it commands devices
 * through, over two connections (commands out, reports in). Resolves once both are connected; rejects with
 * a BrokerError naming the url if that takes longer than `connectTimeoutMs` or the broker refuses the
 * connection. Afterwards it reconnects on its own. When `url` is an embedded broker of this process and no
 * credentials are given, commands go into it and reports come out of it in-process (see inProcessBroker),
 * with every check the same; the connections then only say whether that broker is up.
 *
 * @example
 * const broker = await startEmbeddedBroker()
 * const connection = await createMqttBroker({ url: broker.url, domain: pbjDomain({ chainId, registry }) })
 * connection.onReported((report) => console.log(report.deviceId, report.state.locked))
 * const [message] = signer.sign([{ deviceId, version: 1, commandId: 'c1', state: { locked: true }, chainTime }])
 * await connection.publishDesired(message)
 */
export async function createMqttBroker(options: MqttBrokerOptions): Promise<BrokerConnection> {
  const { url } = options
  const logger = options.logger ?? createLogger()
  const warn = (message: string, fields?: LogFields) => logger.warn(message, { url, ...fields })
  const publishTimeoutMs = options.publishTimeoutMs ?? 5_000
  const names = topicsFor(options.topicPrefix)
  const clientId = options.clientId ?? `pbj-engine-${Math.random().toString(16).slice(2, 10)}`
  const explicit = options.username !== undefined || options.password !== undefined
  // Looked up at every (re)connect: an embedded broker restarted on the same port has a new password. While
  // it is down the last one known is kept.
  let embedded = explicit ? undefined : embeddedBrokerLogin(url)
  const login = () => {
    if (explicit) {
      return {
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: options.password }),
      }
    }
    embedded = embeddedBrokerLogin(url) ?? embedded
    return embedded ? { ...embedded } : {}
  }
  const base: IClientOptions = {
    protocolVersion: options.protocolVersion ?? 4,
    clean: true,
    reconnectPeriod: 500,
    connectTimeout: 5_000,
  }
  const connect = (id: string) =>
    connectClient(url, options.connectTimeoutMs ?? 5_000, warn, { ...base, clientId: id }, login)
  // Two connections by default. On one socket the broker's PUBACK for a command is immediately followed by
  // the car's report; a broker without TCP_NODELAY (Mosquitto's default) holds that report until our
  // delayed ACK fires, adding ~40 ms to every acknowledgement. Split, each socket strictly alternates.
  const split = (options.connections ?? (options.username === undefined ? 2 : 1)) === 2
  const connecting = await Promise.allSettled(
    split ? [connect(`${clientId}-pub`), connect(`${clientId}-sub`)] : [connect(clientId)],
  )
  const [publisher, second] = connecting.map((result) =>
    result.status === 'fulfilled' ? result.value : undefined,
  )
  const subscriber = split ? second : publisher
  if (!publisher || !subscriber) {
    await Promise.all([publisher?.endAsync(true), second?.endAsync(true)])
    throw connecting.find((result) => result.status === 'rejected')?.reason
  }
  let closed = false
  let closing: Promise<void> | undefined

  // A publish whose connection drops would wait in mqtt.js for the next connection; its caller hears now.
  const dropped = new Set<() => void>()
  publisher.on('close', () => {
    for (const drop of [...dropped]) drop()
  })
  const connectListeners = new Set<() => void>()
  // mqtt.js emits 'connect' once it has re-sent what was in flight, so a listener's publishes come after.
  publisher.on('connect', () => {
    for (const listener of connectListeners) {
      try {
        listener()
      } catch (error) {
        warn(`connect listener threw: ${messageOf(error)}`)
      }
    }
  })

  // Up only while both are: a publisher without its subscriber sends commands whose reports never arrive.
  const stateListeners = new Set<(connected: boolean) => void>()
  let wasConnected = true
  const connectionChanged = () => {
    const connected = publisher.connected && subscriber.connected
    if (connected === wasConnected || closed) return
    wasConnected = connected
    for (const listener of stateListeners) listener(connected)
  }
  for (const client of new Set([publisher, subscriber])) {
    client.on('connect', connectionChanged)
    client.on('close', connectionChanged)
  }

  const listeners = new Set<ReportedListener>()
  const verifier = options.domain ? createReportVerifier({ domain: options.domain }) : null
  let unverifiableWarned = false
  // Reports are verified concurrently (in a worker) but delivered in the order they arrived.
  const delivering = createLock()
  const deliver = (report: ReportedMessage, receivedAt: number) => {
    for (const listener of listeners) {
      try {
        listener(report, receivedAt)
      } catch (error) {
        warn(`report listener threw: ${messageOf(error)}`)
      }
    }
  }
  const onMessage = (topic: string, payload: Buffer) => {
    if (listeners.size === 0 || !isReportedTopic(topic, names)) return
    const receivedAt = now()
    // An empty retained payload is a cleared report, not a malformed one.
    if (payload.length === 0) return
    const parsed = parseReported(payload)
    if (!parsed.ok) return warn(`dropped malformed report on ${topic}: ${parsed.error}`)
    const report = parsed.value
    if (names.reported(report.deviceId) !== topic) {
      return warn(`dropped report on ${topic}: it claims to be from ${report.deviceId}`)
    }
    if (!verifier) {
      if (!unverifiableWarned) {
        warn('dropping device reports: no DeviceRegistry is configured to verify their signatures against')
      }
      unverifiableWarned = true
      return
    }
    // Never counted before its signature is checked: an unverified report is not an acknowledgement.
    const verdict = verifier.verify(report, (parsed.json as { state?: unknown }).state)
    void delivering.run(async () => {
      const why = await verdict
      if (closed) return
      if (why === null) deliver(report, receivedAt)
      else warn(`dropped report on ${topic} (version ${report.version}): ${why}`)
    })
  }
  subscriber.on('message', onMessage)

  // Where the reports come from while anyone listens: an embedded broker of this process hands them over
  // in-process (see inProcessBroker), so a car's report is not written to a socket, parsed back and
  // PUBACKed; any other broker through the MQTT subscription. The same checks follow either way.
  let source: { local: InProcessBroker; unsubscribe: Promise<(() => void) | null> } | 'mqtt' | null = null
  const stopLocal = () => {
    if (source === null || source === 'mqtt') return
    void source.unsubscribe.then((unsubscribe) => unsubscribe?.())
    source = null
  }
  const subscribe = () => {
    const local = explicit ? undefined : inProcessBroker(url)
    if (local) {
      if (source !== null && source !== 'mqtt' && source.local === local) return
      if (source === 'mqtt') unsubscribeMqtt()
      stopLocal()
      // stopLocal unsubscribes once this resolves, however soon it is called.
      const unsubscribe = local.subscribe(names.allReported, onMessage).then(
        (stop) => stop,
        (error: unknown) => {
          if (!closed) warn(`cannot subscribe to ${names.allReported}: ${messageOf(error)}`)
          return null
        },
      )
      source = { local, unsubscribe }
      return
    }
    if (source === 'mqtt') return
    stopLocal()
    source = 'mqtt'
    subscriber.subscribeAsync(names.allReported, { qos: 1 }).then(
      (granted) => {
        const qos = granted[0]?.qos ?? 128
        if (qos >= 128) warn(`MQTT broker ${url} refused subscription to ${names.allReported} (${qos})`)
      },
      (error: unknown) => {
        if (!closed) warn(`cannot subscribe to ${names.allReported}: ${messageOf(error)}`)
      },
    )
  }
  const unsubscribeMqtt = () => {
    source = null
    subscriber.unsubscribeAsync(names.allReported).catch((error: unknown) => {
      if (!closed) warn(`cannot unsubscribe from ${names.allReported}: ${messageOf(error)}`)
    })
  }
  // An embedded broker restarted on the same url is a new one: its reports are subscribed to anew when the
  // subscriber reconnects to it (an MQTT subscription mqtt.js renews by itself).
  subscriber.on('connect', () => {
    if (listeners.size > 0 && !closed) subscribe()
  })

  return {
    publishDesired: async (message) => {
      const valid = DesiredMessage.safeParse(message)
      if (!valid.success) {
        // A bug in pbj, not a broker fault: retrying the same message cannot help.
        throw new InternalError(
          `refusing to publish an invalid desired message: ${valid.error.issues[0]?.message}`,
          {
            details: JSON.stringify(valid.error.issues.slice(0, 3)),
            meta: { deviceId: message.deviceId, version: message.version },
          },
        )
      }
      const topic = names.desired(message.deviceId)
      const at = { url, topic, deviceId: message.deviceId, version: message.version }
      if (closed) throw new BrokerPublishError({ ...at, reason: 'closed' })
      // An embedded broker of this process (and the engine's own login, not one it was given) takes the
      // command in-process: a block's thousand commands are not each encoded, written, parsed back and
      // acknowledged over a socket. While that broker is down there is none, and the client below says so.
      // The deadline turns "connected but silent" into a retryable BrokerError, on either path.
      const timedOut = () =>
        new BrokerPublishError({
          ...at,
          reason: 'timeout',
          timeoutMs: publishTimeoutMs,
          connected: publisher.connected,
        })
      const local = explicit ? undefined : inProcessBroker(url)
      if (local) {
        await withTimeout(
          local.publish(topic, Buffer.from(encode(message))),
          publishTimeoutMs,
          timedOut,
          (cause) => new BrokerPublishError({ ...at, reason: 'rejected', cause }),
        )
        return
      }
      // mqtt.js would hold the message until the broker is back; failing fast leaves the caller (the
      // device dispatcher's outbox) to decide when to try again, and onConnect tells it when.
      if (!publisher.connected) {
        throw new BrokerPublishError({ ...at, reason: 'not-connected' })
      }
      let drop = () => {}
      const lost = new Promise<never>((_, reject) => {
        drop = () => reject(new BrokerPublishError({ ...at, reason: 'dropped' }))
      })
      dropped.add(drop)
      // A late delivery after the deadline (mqtt.js re-sends on reconnect) is harmless: the car ignores
      // versions it already has.
      try {
        await withTimeout(
          Promise.race([publisher.publishAsync(topic, encode(message), { qos: 1, retain: true }), lost]),
          publishTimeoutMs,
          timedOut,
          (cause) =>
            cause instanceof BrokerError
              ? cause
              : new BrokerPublishError({ ...at, reason: 'rejected', cause }),
        )
      } finally {
        dropped.delete(drop)
      }
    },

    onConnect: (listener) => {
      // A wrapper per call, so the same function registered twice is also removed twice.
      const wrapped = () => listener()
      connectListeners.add(wrapped)
      return () => void connectListeners.delete(wrapped)
    },

    onConnectionChange: (listener) => {
      const wrapped = (connected: boolean) => listener(connected)
      stateListeners.add(wrapped)
      return () => void stateListeners.delete(wrapped)
    },

    onReported: (listener) => {
      listeners.add(listener)
      if (listeners.size === 1) subscribe()
      return () => {
        if (!listeners.delete(listener) || listeners.size > 0 || closed) return
        if (source === 'mqtt') unsubscribeMqtt()
        else stopLocal()
      }
    },

    close: () => {
      closing ??= (async () => {
        closed = true
        stopLocal()
        listeners.clear()
        connectListeners.clear()
        stateListeners.clear()
        await Promise.all([endMqtt(publisher), split && endMqtt(subscriber), verifier?.close()])
      })()
      return closing
    },
  }
}

function topicsFor(prefix: string | undefined): Topics {
  try {
    return topics(prefix)
  } catch (cause) {
    throw new TopicPrefixError({ cause })
  }
}

function isReportedTopic(topic: string, names: Topics): boolean {
  const [prefix, suffix] = names.allReported.split('+')
  return topic.startsWith(prefix ?? '') && topic.endsWith(suffix ?? '')
}

/** Connects, failing fast on a CONNACK refusal; later errors go to `warn`, once per outage. */
async function connectClient(
  url: string,
  timeoutMs: number,
  warn: (message: string) => void,
  options: IClientOptions,
  login: () => Pick<IClientOptions, 'username' | 'password'>,
): Promise<MqttClient> {
  let client: MqttClient
  try {
    client = connectMqtt(url, { ...options, login })
  } catch (cause) {
    throw new BrokerUrlError({ url, cause })
  }

  let connected = false
  let lastError: string | undefined
  let refuse: ((error: Error) => void) | undefined
  // Registered for the client's whole life: mqtt.js emitting 'error' with no listener would crash pbj.
  client.on('error', (error: Error & { code?: unknown }) => {
    const repeated = error.message === lastError
    lastError = error.message
    if (connected) {
      // Reconnect attempts repeat the same error twice a second; say it once.
      if (!repeated) warn(`MQTT broker ${url} (${options.clientId}): ${error.message}`)
      return
    }
    // A numeric code is a CONNACK refusal (bad credentials, bad client id): waiting longer cannot help.
    if (typeof error.code === 'number') refuse?.(error)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(undefined), timeoutMs)
      refuse = (error) => {
        clearTimeout(timer)
        reject(error)
      }
      client.once('connect', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  } catch (refusal) {
    await client.endAsync(true)
    throw new BrokerConnectError({ url, timeoutMs, refusal, lastError })
  }
  connected = true
  client.on('connect', () => {
    lastError = undefined
  })
  return client
}
