import { Readable } from 'node:stream'

/** A retained message as aedes hands it to its persistence (an aedes Packet; only these fields are read). */
export type RetainedPacket = { topic: string; payload: Buffer | Uint8Array | string }

/** The part of an aedes persistence (aedes-persistence's memory one) that keeps retained messages. */
export type RetainedStore = {
  storeRetained(packet: RetainedPacket, cb?: (error?: Error | null) => void): unknown
  createRetainedStream(pattern: string): Readable
  createRetainedStreamCombi(patterns: string[]): Readable
}

/**
 * Keeps an aedes persistence's retained messages in a map by topic, so a subscription finds its retained
 * message by lookup. aedes-persistence's memory store answers every SUBSCRIBE by testing every retained
 * topic against the filter with a fresh Qlobber: with a car's desired and reported states retained, a
 * thousand cars (re)connecting cost a million tests (~3 s of the broker's thread, the top of the fleet
 * benchmark's set-up profile, `Qlobber._split_words`), and it grows with the square of the fleet. A car
 * subscribes to one exact topic (createBrokerAcl refuses it wildcards): one lookup now. Filters with
 * wildcards (the engine's `…/devices/+/reported`) are matched here too, by {@link matchesFilter}.
 *
 * The messages live only here: the persistence's own copy would double the broker's memory for nothing.
 * Returns the lookup itself, for the broker's in-process subscriptions (see inProcessBroker).
 *
 * @example
 * const aedes = await Aedes.createBroker({ ... })
 * const retained = indexRetained(aedes.persistence)
 * retained(['pbj/devices/+/reported']) // every car's last report
 */
export function indexRetained(persistence: RetainedStore): (patterns: readonly string[]) => RetainedPacket[] {
  const retained = new Map<string, RetainedPacket>()
  const matching = (patterns: readonly string[]): RetainedPacket[] => {
    const found: RetainedPacket[] = []
    for (const pattern of patterns) {
      if (!/[+#]/.test(pattern)) {
        const packet = retained.get(pattern)
        if (packet) found.push(packet)
        continue
      }
      for (const packet of retained.values()) if (matchesFilter(pattern, packet.topic)) found.push(packet)
    }
    return found
  }
  persistence.storeRetained = (packet, cb) => {
    // A copy, as aedes-persistence keeps one: aedes reuses the packet object for delivery.
    if (packet.payload.length === 0) retained.delete(packet.topic)
    else retained.set(packet.topic, { ...packet })
    if (cb) return void setImmediate(cb, null)
    return Promise.resolve()
  }
  persistence.createRetainedStream = (pattern) => Readable.from(matching([pattern]))
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(matching(patterns))
  return matching
}

/**
 * MQTT topic filter matching (MQTT 3.1.1 §4.7): `+` is one level, a final `#` the parent level and any
 * below it, and a filter starting with a wildcard does not match a `$…` topic.
 *
 * @example
 * matchesFilter('pbj/devices/+/reported', 'pbj/devices/0xab/reported') // true
 */
export function matchesFilter(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const want = filter.split('/')
  const have = topic.split('/')
  for (let i = 0; i < want.length; i++) {
    const level = want[i]
    if (level === '#') return i === want.length - 1
    if (i >= have.length) return false
    if (level !== '+' && level !== have[i]) return false
  }
  return want.length === have.length
}
