import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoffDelay.js'

const draws = (attempt: number, options: Parameters<typeof backoffDelay>[1]) =>
  Array.from({ length: 200 }, () => backoffDelay(attempt, options))

describe('backoffDelay', () => {
  it('doubles from baseMs up to maxMs without jitter', () => {
    const options = { baseMs: 100, maxMs: 1_000, jitter: 'none' } as const
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, options))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ])
    expect(backoffDelay(0, options)).toBe(100)
    expect(backoffDelay(10_000, options)).toBe(1_000)
  })

  it('draws from the upper half of the delay by default (50 ms → 5 s)', () => {
    for (const delay of draws(1, {})) expect(delay).toBeGreaterThanOrEqual(25)
    for (const delay of draws(1, {})) expect(delay).toBeLessThanOrEqual(50)
    for (const delay of draws(20, {})) expect(delay).toBeGreaterThanOrEqual(2_500)
    for (const delay of draws(20, {})) expect(delay).toBeLessThanOrEqual(5_000)
  })

  it('spreads ±50 % with plusMinusHalf, which may exceed maxMs', () => {
    const delays = draws(4, { baseMs: 100, maxMs: 500, jitter: 'plusMinusHalf' })
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(250)
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(750)
    expect(delays.some((delay) => delay > 500)).toBe(true)
    expect(new Set(delays).size).toBeGreaterThan(1)
  })
})
