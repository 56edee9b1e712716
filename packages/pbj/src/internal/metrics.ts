/**
 * Counters and histograms by name. In memory for now, so the engine can count without a dependency; a
 * Prometheus exporter can implement the same interface later and nothing that records has to change.
 */
export type Metrics = {
  /** Adds `by` (default 1) to a counter. */
  increment(name: string, by?: number): void
  /** Records one observation (a duration in ms, a size…) in a histogram. */
  observe(name: string, value: number): void
  /** Counters, and each histogram's count and sum, as they are now. */
  snapshot(): { counters: Record<string, number>; histograms: Record<string, { count: number; sum: number }> }
}

/**
 * In-memory {@link Metrics}.
 *
 * @example
 * const metrics = createMetrics()
 * metrics.increment('runs_ok')
 * metrics.snapshot().counters.runs_ok // 1
 */
export function createMetrics(): Metrics {
  const counters = new Map<string, number>()
  const histograms = new Map<string, { count: number; sum: number }>()
  return {
    increment(name, by = 1) {
      counters.set(name, (counters.get(name) ?? 0) + by)
    },
    observe(name, value) {
      // Updated in place: runJob observes once per run, so no object per observation.
      const h = histograms.get(name)
      if (h) {
        h.count++
        h.sum += value
      } else histograms.set(name, { count: 1, sum: value })
    },
    snapshot: () => ({
      counters: Object.fromEntries(counters),
      histograms: Object.fromEntries([...histograms].map(([k, v]) => [k, { ...v }])),
    }),
  }
}
