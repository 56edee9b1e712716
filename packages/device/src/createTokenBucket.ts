/**
 * A token bucket: `burst` tokens, refilled at `perSecond`. See {@link createTokenBucket}.
 *
 * @example
 * if (!bucket.take()) return refuse('rate-limited')
 */
export type TokenBucket = {
  /** Takes one token if there is one; false (and nothing taken) when the bucket is empty. */
  take(): boolean
  /** Whether a token is there now, taking none. */
  has(): boolean
}

/**
 * Limits how often something costly may happen, with a burst allowed. Refilled lazily from the clock on
 * each `take`, so it needs no timer and costs nothing while idle: the car uses it to cap the registry
 * reads that signers it does not know can cause, whatever rate junk arrives at.
 *
 * @example
 * const bucket = createTokenBucket({ perSecond: 5, burst: 10 })
 * bucket.take() // true, ten times in a row; then one more every 200 ms
 */
export function createTokenBucket(options: {
  perSecond: number
  burst: number
  /** The clock (ms); defaults to Date.now. */
  now?: () => number
}): TokenBucket {
  const now = options.now ?? Date.now
  const burst = Math.max(0, options.burst)
  const perMs = Math.max(0, options.perSecond) / 1_000
  let tokens = burst
  let at = now()
  const refill = () => {
    const t = now()
    tokens = Math.min(burst, tokens + Math.max(0, t - at) * perMs)
    at = t
  }
  return {
    has() {
      refill()
      return tokens >= 1
    },
    take() {
      refill()
      if (tokens < 1) return false
      tokens -= 1
      return true
    },
  }
}
