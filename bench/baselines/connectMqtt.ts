import type { Socket } from 'node:net'
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
  const client = mqtt.connect(brokerUrl, { reconnectPeriod: 0, ...options.clientOptions })
  if (options.noDelay) {
    // mqtt.js creates the TCP socket itself and has no option for this; set it on every (re)connection.
    const setNoDelay = () => (client.stream as Socket | undefined)?.setNoDelay?.(true)
    client.on('connect', setNoDelay)
    setNoDelay()
  }
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
    client.once('close', () => reject(new Error(`could not connect to the MQTT broker at ${brokerUrl}`)))
  })
  return client
}
