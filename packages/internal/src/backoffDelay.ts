/**
 * Options of {@link backoffDelay}.
 *
 * @example
 * const options: BackoffOptions = { baseMs: 100, maxMs: 5_000, jitter: 'plusMinusHalf' }
 */
export type BackoffOptions = {
  /** The delay of attempt 1, before jitter. Default 50. */
  baseMs?: number
  /** The ceiling the doubling stops at, before jitter. Default 5 000. */
  maxMs?: number
  /**
   * How the delay is spread, so many clients failing together do not come back in step: `half` (the
   * default) draws from the upper half, [d/2, d]; `plusMinusHalf` from d ± 50 %, [d/2, 3d/2], which may go
   * above `maxMs`; `none` waits exactly d.
   */
  jitter?: 'half' | 'plusMinusHalf' | 'none'
}

/**
 * Exponential backoff, the one pbj uses everywhere: attempt 1 waits about `baseMs`, each further attempt
 * twice as long, up to `maxMs`, spread by `jitter`. Whole milliseconds.
 *
 * @example
 * for (let attempt = 1; ; attempt++) {
 *   try { return await request() } catch { await sleep(backoffDelay(attempt)) }
 * }
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 50
  const max = options.maxMs ?? 5_000
  const ceiling = Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempt - 1)))
  const jitter = options.jitter ?? 'half'
  if (jitter === 'none') return Math.round(ceiling)
  if (jitter === 'plusMinusHalf') return Math.round(ceiling * (0.5 + Math.random()))
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
}
