import { connectMqtt as connectPbjMqtt } from '@pbj/internal/connectMqtt.js'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

/**
 * Connects an mqtt.js client and resolves once the broker accepted it. With `noDelay`, the socket sends each
 * small packet at once instead of letting Nagle hold it behind an unacknowledged one (the bench's car does;
 * the baselines keep mqtt.js's defaults, as their users would). Reconnecting is off: a bench client that
 * loses the broker should fail its samples, not reconnect behind the bench's back (it changes no latency).
 *
 * @example
 * const client = await connectMqtt(stack.brokerUrl, { noDelay: true })
 */
export async function connectMqtt(
  brokerUrl: string,
  options: { noDelay?: boolean; clientOptions?: IClientOptions } = {},
): Promise<MqttClient> {
  const clientOptions = { reconnectPeriod: 0, ...benchBrokerLogin(), ...options.clientOptions }
  // pbj's own connection (no-delay on every connection) for the bench's car; mqtt.js as is for the baselines.
  const client = options.noDelay
    ? connectPbjMqtt(brokerUrl, clientOptions)
    : mqtt.connect(brokerUrl, clientOptions)
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
    client.once('close', () => reject(new Error(`could not connect to the MQTT broker at ${brokerUrl}`)))
  })
  return client
}

/**
 * The login the bench's baselines use on pbj's embedded broker, whose ACL lets only the engine publish
 * commands: the bench sets PBJ_BENCH_BROKER_LOGIN (JSON { username, password }) for itself and its child
 * processes, and the baselines stand in for the engine. Empty when unset (an open broker).
 *
 * @example
 * mqtt.connect(url, { ...benchBrokerLogin() })
 */
export function benchBrokerLogin(): { username?: string; password?: string } {
  const text = process.env.PBJ_BENCH_BROKER_LOGIN
  if (!text) return {}
  const { username, password } = JSON.parse(text) as { username: string; password: string }
  return { username, password }
}
