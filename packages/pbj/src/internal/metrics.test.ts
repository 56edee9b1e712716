import { describe, expect, it } from 'vitest'
import { metricCatalog } from './metricCatalog.js'
import { createMetrics } from './metrics.js'

describe('createMetrics', () => {
  it('adds up counters and histograms by name and labels, and sets gauges', () => {
    const metrics = createMetrics()
    metrics.increment('pbj_runs_total', 1, { function: 'lock', status: 'ok' })
    metrics.increment('pbj_runs_total', 2, { function: 'lock', status: 'ok' })
    metrics.increment('pbj_runs_total', 1, { status: 'failed', function: 'lock' })
    metrics.observe('pbj_run_duration_seconds', 0.004, { function: 'lock' })
    metrics.observe('pbj_run_duration_seconds', 0.006, { function: 'lock' })
    metrics.set('pbj_queue_depth', 7)
    const snapshot = metrics.snapshot()
    expect(snapshot.counters).toMatchObject({
      'pbj_runs_total{function="lock",status="ok"}': 3,
      'pbj_runs_total{function="lock",status="failed"}': 1,
    })
    expect(snapshot.histograms['pbj_run_duration_seconds{function="lock"}']?.count).toBe(2)
    expect(snapshot.histograms['pbj_run_duration_seconds{function="lock"}']?.sum).toBeCloseTo(0.01, 10)
    expect(snapshot.gauges.pbj_queue_depth).toBe(7)
  })

  it('renders Prometheus text: every catalogued metric with its help and type, cumulative buckets', async () => {
    const metrics = createMetrics()
    metrics.observe('pbj_block_to_ack_seconds', 0.003, { action: 'lock' })
    metrics.observe('pbj_block_to_ack_seconds', 0.2, { action: 'lock' })
    metrics.observe('pbj_block_to_ack_seconds', 60, { action: 'lock' })
    const { contentType, body } = await metrics.scrape()
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    for (const [name, spec] of Object.entries(metricCatalog)) {
      expect(body).toContain(`# HELP ${name} `)
      expect(body).toContain(`# TYPE ${name} ${spec.type}`)
    }
    expect(body).toContain('pbj_block_to_ack_seconds_bucket{action="lock",le="0.001"} 0')
    expect(body).toContain('pbj_block_to_ack_seconds_bucket{action="lock",le="0.005"} 1')
    expect(body).toContain('pbj_block_to_ack_seconds_bucket{action="lock",le="0.25"} 2')
    expect(body).toContain('pbj_block_to_ack_seconds_bucket{action="lock",le="30"} 2')
    expect(body).toContain('pbj_block_to_ack_seconds_bucket{action="lock",le="+Inf"} 3')
    expect(body).toContain('pbj_block_to_ack_seconds_count{action="lock"} 3')
    expect(body).toMatch(/pbj_block_to_ack_seconds_sum\{action="lock"\} 60\.203/)
    // An unlabelled counter shows 0 before anything counted; a gauge only once set.
    expect(body).toMatch(/^pbj_reorgs_total 0$/m)
    expect(body).not.toMatch(/^pbj_devices_drifting /m)
  })

  it('runs the samplers before rendering, and counts a name it does not catalogue', async () => {
    const metrics = createMetrics()
    let depth = 0
    const off = metrics.onCollect(() => metrics.set('pbj_queue_depth', ++depth))
    expect((await metrics.scrape()).body).toMatch(/^pbj_queue_depth 1$/m)
    expect((await metrics.scrape()).body).toMatch(/^pbj_queue_depth 2$/m)
    off()
    expect((await metrics.scrape()).body).toMatch(/^pbj_queue_depth 2$/m)
    metrics.increment('pbj_something_new_total', 2)
    expect((await metrics.scrape()).body).toMatch(/^pbj_something_new_total 2$/m)
  })

  it('keeps each engine’s registry its own', async () => {
    const a = createMetrics()
    const b = createMetrics()
    a.set('pbj_processed_block', 5)
    expect((await b.scrape()).body).not.toMatch(/^pbj_processed_block /m)
    expect((await a.scrape()).body).toMatch(/^pbj_processed_block 5$/m)
  })
})
