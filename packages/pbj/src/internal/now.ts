/**
 * Wall-clock milliseconds with sub-millisecond precision, for latency figures (Date.now() rounds to 1 ms,
 * which is the size of the stages being measured).
 *
 * @example
 * const t0 = now(); await work(); console.log(now() - t0)
 */
export const now = (): number => performance.timeOrigin + performance.now()
