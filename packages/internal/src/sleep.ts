/**
 * Resolves after `ms`, or at once when `signal` aborts (so a stopping follower does not sit out a backoff).
 *
 * @example
 * await sleep(backoffDelay(3), stopping.signal)
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
