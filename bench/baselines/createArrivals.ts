/**
 * What arrived under each key (a transaction hash), and a way to wait for it: a value may arrive before or
 * after someone starts waiting for it.
 */
export type Arrivals<value> = {
  /** Records the first arrival under `key`; later ones are ignored (a duplicate must not move a timing). */
  set(key: string, value: value): void
  /** Resolves with what arrived under `key`, or rejects after `timeoutMs` naming `what` was awaited. */
  wait(key: string, timeoutMs: number, what: string): Promise<value>
  /** Rejects every current and future `wait`: the source failed and nothing more will arrive. */
  fail(error: Error): void
}

/**
 * Creates an {@link Arrivals} map.
 *
 * @example
 * const acked = createArrivals<number>()
 * client.on('message', (_, payload) => acked.set(JSON.parse(String(payload)).tx, now()))
 * const at = await acked.wait(hash, 10_000, 'the ack')
 */
export function createArrivals<value>(): Arrivals<value> {
  const arrived = new Map<string, value>()
  const waiters = new Map<string, (value: value) => void>()
  const failers = new Set<(error: Error) => void>()
  let failed: Error | undefined
  return {
    set(key, value) {
      if (arrived.has(key)) return
      arrived.set(key, value)
      waiters.get(key)?.(value)
    },
    wait(key, timeoutMs, what) {
      if (failed) return Promise.reject(failed)
      if (arrived.has(key)) return Promise.resolve(arrived.get(key) as value)
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer)
          waiters.delete(key)
          failers.delete(onFail)
        }
        const onFail = (error: Error) => {
          done()
          reject(error)
        }
        const timer = setTimeout(
          () => onFail(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (tx ${key})`)),
          timeoutMs,
        )
        failers.add(onFail)
        waiters.set(key, (value) => {
          done()
          resolve(value)
        })
      })
    },
    fail(error) {
      failed ??= error
      for (const onFail of [...failers]) onFail(error)
    },
  }
}
