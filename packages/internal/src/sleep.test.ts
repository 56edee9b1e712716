import { describe, expect, it } from 'vitest'
import { sleep } from './sleep.js'

describe('sleep', () => {
  it('waits about the given time', async () => {
    const started = performance.now()
    await sleep(30)
    expect(performance.now() - started).toBeGreaterThanOrEqual(25)
  })

  it('ends at once when its signal aborts, or was aborted already', async () => {
    const stopping = new AbortController()
    const started = performance.now()
    const slept = sleep(10_000, stopping.signal)
    stopping.abort()
    await slept
    await sleep(10_000, stopping.signal)
    expect(performance.now() - started).toBeLessThan(1_000)
  })
})
