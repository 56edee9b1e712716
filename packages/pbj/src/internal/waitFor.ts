import type { Emitter } from './createEmitter.js'
import { WaitTimeoutError } from './errors.js'

/**
 * Resolves with the first event `name` that satisfies `predicate`, or rejects after `timeoutMs` with a
 * message saying what was awaited.
 *
 * @example
 * const report = await waitFor(engine.events, 'device:reported', (r) => r.state.locked, 5_000, 'car to lock')
 */
export function waitFor<events extends Record<string, unknown>, name extends keyof events>(
  emitter: Emitter<events>,
  name: name,
  predicate: (payload: events[name]) => boolean,
  timeoutMs: number,
  what: string,
): Promise<events[name]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new WaitTimeoutError({ timeoutMs, what }))
    }, timeoutMs)
    const off = emitter.on(name, (payload) => {
      if (!predicate(payload)) return
      clearTimeout(timer)
      off()
      resolve(payload)
    })
  })
}
