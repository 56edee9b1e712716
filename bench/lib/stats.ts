/** Percentiles of a sample, in the unit it was taken in (ms everywhere in the benchmarks). */
export type Stats = { n: number; p50: number; p95: number; p99: number; max: number; mean: number }

const round = (value: number) => Math.round(value * 100) / 100

/**
 * Nearest-rank percentiles: with n samples, p99 is the ⌈0.99·n⌉-th smallest (so with fewer than 100
 * samples it is the maximum — reported as is, never interpolated below what was seen).
 *
 * @example
 * summarize([1.2, 3.4, 2.2]) // { n: 3, p50: 2.2, p95: 3.4, p99: 3.4, max: 3.4, mean: 2.27 }
 */
export function summarize(samples: readonly number[]): Stats {
  if (samples.length === 0)
    return { n: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN }
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number
  return {
    n: sorted.length,
    p50: round(rank(0.5)),
    p95: round(rank(0.95)),
    p99: round(rank(0.99)),
    max: round(sorted[sorted.length - 1] as number),
    mean: round(sorted.reduce((sum, x) => sum + x, 0) / sorted.length),
  }
}

/** Progress and tables go to stderr; stdout's last line is the JSON summary. */
export const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
