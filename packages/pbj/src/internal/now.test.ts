import { describe, expect, it } from 'vitest'
import { now } from './now.js'

describe('now', () => {
  it('is wall-clock milliseconds since the epoch (agrees with Date.now to well under a second)', () => {
    expect(Math.abs(now() - Date.now())).toBeLessThan(1_000)
  })

  it('never goes backwards and resolves below one millisecond', () => {
    const samples = Array.from({ length: 1_000 }, () => now())
    for (let i = 1; i < samples.length; i += 1) expect(samples[i]).toBeGreaterThanOrEqual(samples[i - 1] ?? 0)
    expect(samples.some((t) => !Number.isInteger(t))).toBe(true)
  })
})
