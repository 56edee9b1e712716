import type { MetricSpec } from './metricCatalog.js'

/** Label values of one series, e.g. `{ function: 'lockOnDeadline', status: 'ok' }`. */
export type Labels = Readonly<Record<string, string>>

/** One series of a family: its labels, its value (counter, gauge) or its buckets, sum and count (histogram). */
export type Series = {
  labels: Labels
  value: number
  /** Per-bucket (not cumulative) counts, one more than the bounds for +Inf; empty for counters and gauges. */
  buckets: Float64Array
  sum: number
  count: number
}

/** What a prom-client Registry reads from a registered metric (its `get()`), rendered as Prometheus text. */
type RegistryValue = { labels: Record<string, string | number>; value: number; metricName?: string }

/**
 * One metric and its series, recorded with plain arithmetic and rendered for a prom-client Registry only
 * when scraped. Why not prom-client's own Counter and Histogram: they hash and validate the labels object on
 * every call, about 0.7 µs for a run's counter and histogram against about 0.12 µs here
 * (bench/metrics/hotPath.ts), and runJob records once per run on the engine's hottest path. The Registry
 * (text format, content type, process metrics) is still prom-client's.
 *
 * @example
 * const runs = createMetricFamily('pbj_runs_total', { type: 'counter', help: '…', labels: ['function'] })
 * runs.seriesOf({ function: 'lock' }).value++
 * registry.registerMetric(runs.forRegistry as never)
 */
export function createMetricFamily(name: string, spec: MetricSpec) {
  const labelNames = spec.labels ?? []
  const bounds = spec.type === 'histogram' ? [...(spec.buckets ?? defaultBuckets)] : []
  const series = new Map<string, Series>()
  const empty = new Float64Array(0)
  const keyOf =
    labelNames.length === 0
      ? () => ''
      : labelNames.length === 1
        ? (labels: Labels) => labels[labelNames[0] as string] ?? ''
        : (labels: Labels) => {
            // A loop rather than map/join: this runs on every record, and the array costs more than the key.
            let key = labels[labelNames[0] as string] ?? ''
            for (let i = 1; i < labelNames.length; i++)
              key += `\u0001${labels[labelNames[i] as string] ?? ''}`
            return key
          }
  /** The series of these labels, created at 0 on first use. */
  const seriesOf = (labels: Labels = noLabels): Series => {
    const key = keyOf(labels)
    let s = series.get(key)
    if (!s) {
      const own: Record<string, string> = {}
      for (const l of labelNames) own[l] = labels[l] ?? ''
      s = {
        labels: own,
        value: 0,
        buckets: bounds.length ? new Float64Array(bounds.length + 1) : empty,
        sum: 0,
        count: 0,
      }
      series.set(key, s)
    }
    return s
  }
  /** Adds one observation to a histogram series. */
  const observe = (s: Series, value: number) => {
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    s.buckets[i] = (s.buckets[i] as number) + 1
    s.sum += value
    s.count++
  }
  const values = (): RegistryValue[] => {
    // An unlabelled counter or histogram shows 0 before anything happened, as prom-client's own do; a
    // gauge shows only once set (no processed block yet is not block 0; no payment is not a 0 balance).
    if (labelNames.length === 0 && spec.type !== 'gauge') seriesOf()
    const out: RegistryValue[] = []
    for (const s of series.values()) {
      if (spec.type !== 'histogram') {
        out.push({ labels: s.labels, value: s.value })
        continue
      }
      let cumulative = 0
      bounds.forEach((le, i) => {
        cumulative += s.buckets[i] as number
        out.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${name}_bucket` })
      })
      out.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` })
      out.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` })
      out.push({ labels: s.labels, value: s.count, metricName: `${name}_count` })
    }
    return out
  }
  return {
    name,
    type: spec.type,
    labelNames,
    series,
    seriesOf,
    observe,
    /** The object a prom-client Registry takes in `registerMetric`: it calls `get()` on every scrape. */
    forRegistry: {
      name,
      type: spec.type,
      help: spec.help,
      get: async () => ({ name, help: spec.help, type: spec.type, values: values(), aggregator: 'sum' }),
    },
  }
}

/** A family made by {@link createMetricFamily}. */
export type MetricFamily = ReturnType<typeof createMetricFamily>

const noLabels: Labels = {}
const defaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
