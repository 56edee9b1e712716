import { createRegistry } from '../../internal/createRegistry.js'

/**
 * An embedded broker of this process, reached without a socket: what createMqttBroker uses instead of its
 * MQTT clients when the broker it is given runs here (see startEmbeddedBroker).
 *
 * @example
 * const local: InProcessBroker = { publish: async () => {}, subscribe: async () => () => {} }
 */
export type InProcessBroker = {
  /**
   * Publishes one retained QoS 1 message, resolving once the broker has stored it and handed it to its
   * subscribers (what its PUBACK would have said).
   */
  publish(topic: string, payload: Buffer): Promise<void>
  /**
   * Hands `onMessage` every message published to a topic matching `filter` from now on, then the retained
   * messages matching it, as an MQTT subscription would. Resolves, once subscribed and the retained
   * messages handed over, to the function that unsubscribes.
   */
  subscribe(filter: string, onMessage: (topic: string, payload: Buffer) => void): Promise<() => void>
}

// By url, as the engine's login (embeddedBrokerLogin): the engine is handed the broker's url and finds here
// that the broker runs in its own process, so its commands and the cars' reports need not cross a socket.
const brokers = createRegistry<InProcessBroker>()

/**
 * The embedded broker at `url` as this process reaches it (see startEmbeddedBroker), or undefined when none
 * runs there in this process. createMqttBroker publishes commands and receives reports through it instead
 * of its MQTT clients: the same broker work (retained store, delivery, QoS 1), without encoding, a socket
 * write, parsing the packet back and the PUBACK round trip, for each command and each report.
 *
 * @example
 * const local = inProcessBroker(broker.url)
 * if (local) await local.publish('pbj/devices/0xcar/desired', Buffer.from(encode(message)))
 */
export function inProcessBroker(url: string): InProcessBroker | undefined {
  return brokers.get(url)
}

/**
 * Records how an embedded broker is reached in-process; returns the function that forgets it (only if it
 * was not replaced since).
 *
 * @example
 * const forget = registerInProcessBroker(url, { publish, subscribe })
 */
export function registerInProcessBroker(url: string, broker: InProcessBroker): () => void {
  return brokers.register(url, broker)
}
