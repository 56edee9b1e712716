/**
 * A lock made of a promise chain: tasks run one at a time, in the order they were handed in.
 *
 * @example
 * const lock = createLock()
 * const nonce = await lock.run(() => takeNextNonce())
 */
export type Lock = {
  /**
   * Runs `task` once every task handed in before it has settled; resolves or rejects as the task does. A
   * task that fails does not stop the ones behind it.
   */
  run<T>(task: () => T | PromiseLike<T>): Promise<T>
  /** Resolves once every task handed in so far has settled (never rejects). */
  idle(): Promise<void>
}

/**
 * Creates a {@link Lock}: for work that must not interleave, such as writes of one file, nonces of one
 * account, or commands weighed against the state the one before left.
 *
 * @example
 * const saving = createLock()
 * saving.run(() => writeFile(file, text))
 * await saving.idle()
 */
export function createLock(): Lock {
  let tail: Promise<void> = Promise.resolve()
  return {
    run(task) {
      const result = tail.then(() => task())
      tail = result.then(
        () => undefined,
        () => undefined,
      )
      return result
    },
    idle: () => tail,
  }
}
