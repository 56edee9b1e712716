import { connectMqtt } from '@pbj/internal/connectMqtt.js'
import type { IClientOptions, MqttClient } from 'mqtt'
import { BrokerRefusedError, InvalidUrlError } from './errors/connection.js'

/**
 * Starts a car's MQTT client. The session is clean on purpose: the desired topic is retained, so on every
 * (re)connect the car gets only the latest command instead of a persistent session replaying each
 * lock/unlock it missed. It never gives up reconnecting. Returns at once; see {@link whenSubscribed}.
 *
 * @example
 * const client = connectDeviceClient({ brokerUrl, deviceId, protocolVersion: 4, login: () => deviceLogin(key) })
 */
export function connectDeviceClient(options: {
  brokerUrl: string
  deviceId: string
  protocolVersion: 4 | 5
  /** Asked for at the first connect and before each reconnect: a signed login is valid a few minutes only. */
  login: () => Pick<IClientOptions, 'username' | 'password'>
}): MqttClient {
  try {
    return connectMqtt(options.brokerUrl, {
      // The device id, which brokers that guard sessions require (the embedded one, Mosquitto with
      // use_username_as_clientid): no other client can then take over the car's session and keep it offline.
      clientId: options.deviceId,
      protocolVersion: options.protocolVersion,
      clean: true,
      reconnectPeriod: 500,
      // A car never gives up: credentials fixed on the broker side must not need a reboot.
      reconnectOnConnackError: true,
      connectTimeout: 5_000,
      keepalive: 30,
      login: options.login,
    })
  } catch (cause) {
    throw new InvalidUrlError({ option: 'brokerUrl', url: options.brokerUrl, reason: 'not-usable', cause })
  }
}

/**
 * Resolves once the client connected and the broker granted the subscription to `topic`; rejects if the
 * broker refuses the connection (a CONNACK code) or the subscription, or when `cancel` is called first.
 * The client keeps retrying either way, and a rejection nobody awaits does not crash the car's process.
 *
 * @example
 * const { ready, cancel } = whenSubscribed(client, desiredTopic, brokerUrl)
 */
export function whenSubscribed(
  client: MqttClient,
  topic: string,
  brokerUrl: string,
): { ready: Promise<void>; cancel: (error: Error) => void } {
  let cancel: (error: Error) => void = () => {}
  const ready = new Promise<void>((resolve, reject) => {
    cancel = reject
    const refused = (error: Error & { code?: unknown }) => {
      if (typeof error.code !== 'number') return
      reject(new BrokerRefusedError({ what: 'connection', brokerUrl, cause: error }))
    }
    client.on('error', refused)
    client.once('connect', () => {
      client.off('error', refused)
      client.subscribeAsync(topic, { qos: 1 }).then((granted) => {
        const qos = granted[0]?.qos ?? 128
        if (qos < 128) return resolve()
        reject(new BrokerRefusedError({ what: 'subscription', topic, qos }))
      }, reject)
    })
  })
  ready.catch(() => {})
  return { ready, cancel }
}
