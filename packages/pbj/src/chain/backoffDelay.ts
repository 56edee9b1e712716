/**
 * Exponential backoff with jitter: attempt 1 waits about `baseMs`, each further attempt twice as long, up to
 * `maxMs`. Half the delay is random, so many clients rate-limited together do not come back in step.
 *
 * @example
 * for (let attempt = 1; ; attempt++) {
 *   try { return await request() } catch { await sleep(backoffDelay(attempt)) }
 * }
 */
export function backoffDelay(attempt: number, options: { baseMs?: number; maxMs?: number } = {}): number {
  const base = options.baseMs ?? 50
  const max = options.maxMs ?? 5_000
  const ceiling = Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempt - 1)))
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
}

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
