/**
 * A small typed event emitter. Listeners run synchronously; a throwing listener cannot break the emitter.
 *
 * @example
 * const events = createEmitter<{ block: { number: bigint } }>()
 * const off = events.on('block', (b) => console.log(b.number))
 * events.emit('block', { number: 1n })
 */
export function createEmitter<events extends Record<string, unknown>>() {
  const listeners = new Map<keyof events, Set<(payload: never) => void>>()
  return {
    on<name extends keyof events>(name: name, listener: (payload: events[name]) => void): () => void {
      const set = listeners.get(name) ?? new Set()
      set.add(listener as (payload: never) => void)
      listeners.set(name, set)
      return () => void set.delete(listener as (payload: never) => void)
    },
    emit<name extends keyof events>(name: name, payload: events[name]): void {
      for (const l of listeners.get(name) ?? []) {
        try {
          ;(l as (payload: events[name]) => void)(payload)
        } catch {
          // a listener's bug must not stop the pipeline
        }
      }
    },
  }
}

/** The emitter returned by {@link createEmitter}. */
export type Emitter<events extends Record<string, unknown>> = ReturnType<typeof createEmitter<events>>
