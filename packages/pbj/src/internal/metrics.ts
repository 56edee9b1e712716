import { Registry } from 'prom-client'
import { type MetricSpec, metricCatalog } from './metricCatalog.js'
import { createMetricFamily, type Labels, type MetricFamily } from './metricFamily.js'

export type { Labels } from './metricFamily.js'

/**
 * Counters, gauges and histograms by name, on a Prometheus registry of the engine's own (not prom-client's
 * global one: a test process runs several engines, and each must count only its own). The names and labels
 * pbj exposes are listed in {@link metricCatalog}; what records a metric knows nothing of Prometheus.
 */
export type Metrics = {
  /** Adds `by` (default 1) to a counter. */
  increment(name: string, by?: number, labels?: Labels): void
  /** Records one observation in a histogram (durations in seconds, by Prometheus convention). */
  observe(name: string, value: number, labels?: Labels): void
  /** Sets a gauge. */
  set(name: string, value: number, labels?: Labels): void
  /**
   * Adds a sampler run at every scrape, before the text is rendered: gauges read from the store or the
   * queue cost nothing between scrapes. Returns the function that removes it.
   */
  onCollect(sampler: () => void | Promise<void>): () => void
  /** The Prometheus text of every metric, samplers run first (what `/metrics` serves). */
  scrape(): Promise<{ contentType: string; body: string }>
  /** The prom-client registry (process metrics are added to it by whoever serves it). */
  registry: Registry
  /**
   * Every series as it is now, keyed as the Prometheus text names it (`pbj_runs_total{function="a",
   * status="ok"}`, the bare name without labels): counters and gauges by value, histograms by count and
   * sum. Series never recorded are left out. For tests and the CLI.
   */
  snapshot(): {
    counters: Record<string, number>
    gauges: Record<string, number>
    histograms: Record<string, { count: number; sum: number }>
  }
}

/**
 * Creates the engine's {@link Metrics}, every catalogued metric registered up front (so a scrape lists each
 * one before anything happened). Recording is plain arithmetic on the series (see createMetricFamily);
 * the text is rendered only when scraped.
 *
 * @example
 * const metrics = createMetrics()
 * metrics.increment('pbj_runs_total', 1, { function: 'lockOnDeadline', status: 'ok' })
 * const { body } = await metrics.scrape() // '# HELP pbj_runs_total …'
 */
export function createMetrics(): Metrics {
  const registry = new Registry()
  const families = new Map<string, MetricFamily>()
  const samplers = new Set<() => void | Promise<void>>()
  const create = (name: string, spec: MetricSpec) => {
    const family = createMetricFamily(name, spec)
    families.set(name, family)
    registry.registerMetric(family.forRegistry as unknown as Parameters<Registry['registerMetric']>[0])
    return family
  }
  for (const [name, spec] of Object.entries(metricCatalog)) create(name, spec)
  /** A catalogued family, or one made on first use (labelled by the labels it is first used with). */
  const familyOf = (name: string, type: MetricSpec['type'], labels: Labels | undefined) =>
    families.get(name) ??
    create(name, { type, help: `${name} (not catalogued)`, labels: Object.keys(labels ?? {}) })

  return {
    increment(name, by = 1, labels) {
      familyOf(name, 'counter', labels).seriesOf(labels).value += by
    },
    observe(name, value, labels) {
      const family = familyOf(name, 'histogram', labels)
      family.observe(family.seriesOf(labels), value)
    },
    set(name, value, labels) {
      familyOf(name, 'gauge', labels).seriesOf(labels).value = value
    },
    onCollect(sampler) {
      samplers.add(sampler)
      return () => void samplers.delete(sampler)
    },
    async scrape() {
      await Promise.all([...samplers].map((sample) => sample()))
      return { contentType: registry.contentType, body: await registry.metrics() }
    },
    registry,
    snapshot() {
      const counters: Record<string, number> = {}
      const gauges: Record<string, number> = {}
      const histograms: Record<string, { count: number; sum: number }> = {}
      for (const family of families.values()) {
        for (const s of family.series.values()) {
          const key = seriesKey(family.name, s.labels)
          if (family.type === 'counter') counters[key] = s.value
          else if (family.type === 'gauge') gauges[key] = s.value
          else histograms[key] = { count: s.count, sum: s.sum }
        }
      }
      return { counters, gauges, histograms }
    },
  }
}

/** `name{a="1",b="2"}` (labels in the family's order), or the bare name without labels. */
function seriesKey(name: string, labels: Labels): string {
  const keys = Object.keys(labels)
  if (keys.length === 0) return name
  return `${name}{${keys.map((k) => `${k}="${labels[k]}"`).join(',')}}`
}
