/**
 * One lock per key: tasks of the same key run one at a time in call order, tasks of different keys side by
 * side. A key whose tasks have all settled holds no memory.
 *
 * @example
 * const locks = createKeyedLock<string>()
 * await locks.run(functionName, () => install(functionName))
 */
export type KeyedLock<K> = {
  /** Runs `task` after every task of `key` handed in before it; resolves or rejects as the task does. */
  run<T>(key: K, task: () => T | PromiseLike<T>): Promise<T>
  /** How many keys have tasks queued or running. */
  size(): number
}

/**
 * Creates a {@link KeyedLock}.
 *
 * @example
 * const byKey = createKeyedLock<string>()
 * byKey.run('loan-7', () => broadcast(tx))
 */
export function createKeyedLock<K>(): KeyedLock<K> {
  const tails = new Map<K, Promise<void>>()
  return {
    run(key, task) {
      const result = (tails.get(key) ?? Promise.resolve()).then(() => task())
      const tail = result.then(
        () => undefined,
        () => undefined,
      )
      tails.set(key, tail)
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key)
      })
      return result
    },
    size: () => tails.size,
  }
}
