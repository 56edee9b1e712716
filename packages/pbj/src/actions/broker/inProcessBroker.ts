/**
 * Publishes one retained QoS 1 message into an embedded broker of this process, resolving once the broker
 * has stored it and handed it to its subscribers (what its PUBACK would have said).
 *
 * @example
 * const publish: EmbeddedPublish = (topic, payload) => Promise.resolve()
 */
export type EmbeddedPublish = (topic: string, payload: Buffer) => Promise<void>

// By url, as the engine's login (embeddedBrokerLogin): the engine is handed the broker's url and finds here
// that the broker runs in its own process, so its commands need not go through a socket.
const publishers = new Map<string, EmbeddedPublish>()

/**
 * The in-process publish of the embedded broker at `url` (see startEmbeddedBroker), or undefined when none
 * runs there in this process. createMqttBroker publishes commands through it instead of its MQTT client:
 * the same broker work (retained store, delivery to the car, QoS 1), without encoding, a socket write, the
 * broker parsing the packet back, and the PUBACK round trip for each of a block's thousand commands.
 *
 * @example
 * const publish = embeddedPublisher(broker.url)
 * if (publish) await publish('pbj/devices/0xcar/desired', Buffer.from(encode(message)))
 */
export function embeddedPublisher(url: string): EmbeddedPublish | undefined {
  return publishers.get(url)
}

/**
 * Records the in-process publish of an embedded broker; returns the function that forgets it (only if it
 * was not replaced since).
 *
 * @example
 * const forget = registerEmbeddedPublisher(url, publish)
 */
export function registerEmbeddedPublisher(url: string, publish: EmbeddedPublish): () => void {
  publishers.set(url, publish)
  return () => {
    if (publishers.get(url) === publish) publishers.delete(url)
  }
}
