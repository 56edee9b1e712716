import { describe, expect, it } from 'vitest'
import { createChangeSchedule } from './createChangeSchedule.js'

describe('createChangeSchedule', () => {
  it('returns the keys due by a time, earliest first, once each', () => {
    const s = createChangeSchedule()
    s.set('c', 30n)
    s.set('a', 10n)
    s.set('b', 20n)
    expect(s.next()).toBe(10n)
    expect(s.due(5n)).toEqual([])
    expect(s.due(20n)).toEqual(['a', 'b'])
    expect(s.due(20n)).toEqual([])
    expect(s.size).toBe(1)
    expect(s.next()).toBe(30n)
    expect(s.due(100n)).toEqual(['c'])
    expect(s.next()).toBeNull()
  })

  it('keeps one time per key: a key set again moves, a null forgets it', () => {
    const s = createChangeSchedule()
    s.set('a', 10n)
    s.set('b', 15n)
    s.set('a', 50n)
    s.set('b', null)
    expect(s.size).toBe(1)
    expect(s.next()).toBe(50n)
    expect(s.due(40n)).toEqual([])
    s.set('a', 5n)
    expect(s.due(6n)).toEqual(['a'])
    expect(s.size).toBe(0)
  })

  it('stays small and ordered when every key is set again many times (a full pass each round)', () => {
    const s = createChangeSchedule()
    const n = 2_000
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < n; i++) s.set(`d${i}`, BigInt(((i * 7919 + round) % n) + 1_000))
    }
    expect(s.size).toBe(n)
    const due = s.due(1_099n)
    expect(due).toHaveLength(100)
    expect(s.size).toBe(n - 100)
    let last = -1n
    const rest = s.due(10_000n)
    expect(rest).toHaveLength(n - 100)
    for (const key of [...due, ...rest]) {
      const at = BigInt(((Number(key.slice(1)) * 7919 + 19) % n) + 1_000)
      expect(at).toBeGreaterThanOrEqual(last)
      last = at
    }
  })
})
