/**
 * Micro-measure of what runJob pays per run for its metrics: one counter increment and one histogram
 * observation, 100k times each, as runJob calls them (labels by function and status). Prints ns per call
 * (median of 7 rounds after a warm-up), so a change of the Metrics implementation can be compared before/after.
 *
 * Run: node --import tsx bench/metrics/hotPath.ts
 */
import { createMetrics } from '../../packages/pbj/src/internal/metrics.js'

const calls = 100_000
const rounds = 7
const functions = ['lockOnDeadline', 'unlockOnPayment', 'warnOnMissedDueDate', 'autopay']
const metrics = createMetrics()
// What runJob records for each run (see engine/runJob.ts).
const record = (i: number) => {
  const fn = functions[i & 3] as string
  const status = i % 10 === 0 ? 'failed' : 'ok'
  // biome-ignore lint/suspicious/noExplicitAny: the same call shape against the old and the new interface
  const m = metrics as any
  if (m.scrape) {
    // The Prometheus-backed Metrics (issue 12): labelled by function and status, durations in seconds.
    m.increment('pbj_runs_total', 1, { function: fn, status })
    m.observe('pbj_run_duration_seconds', ((i % 50) + 0.5) / 1000, { function: fn })
  } else {
    // The in-memory Metrics before it: counters by status, durations in ms.
    m.increment(`runs_${status}`)
    m.observe('run_duration_ms', (i % 50) + 0.5)
  }
}
const round = () => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) record(i)
  return Number(process.hrtime.bigint() - start) / calls
}
for (let i = 0; i < 3; i++) round()
const times = Array.from({ length: rounds }, round).sort((a, b) => a - b)
const median = times[Math.floor(rounds / 2)] as number
console.log(
  JSON.stringify({
    calls,
    nsPerRun: Math.round(median * 10) / 10,
    minNsPerRun: Math.round((times[0] as number) * 10) / 10,
  }),
)
