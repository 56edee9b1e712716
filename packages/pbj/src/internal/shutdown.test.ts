import { describe, expect, it } from 'vitest'
import { createMetrics } from './metrics.js'
import { createShutdown } from './shutdown.js'

describe('createShutdown', () => {
  it('runs its cleanups in the order they were added, each awaited, and only once', async () => {
    const shutdown = createShutdown()
    const done: string[] = []
    shutdown.add(async () => {
      await new Promise((r) => setTimeout(r, 10))
      done.push('follower')
    })
    shutdown.add(() => done.push('store'))
    expect(shutdown.isKilled).toBe(false)
    const first = shutdown.kill()
    expect(shutdown.isKilled).toBe(true)
    await Promise.all([first, shutdown.kill()])
    expect(done).toEqual(['follower', 'store'])
  })
})

describe('createMetrics', () => {
  it('adds up counters and histograms by name', () => {
    const metrics = createMetrics()
    metrics.increment('runs_ok')
    metrics.increment('runs_ok', 2)
    metrics.observe('run_duration_ms', 4)
    metrics.observe('run_duration_ms', 6)
    expect(metrics.snapshot()).toEqual({
      counters: { runs_ok: 3 },
      histograms: { run_duration_ms: { count: 2, sum: 10 } },
    })
  })
})
