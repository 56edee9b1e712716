import { describe, expect, it } from 'vitest'
import { createReadMemory } from './createReadMemory.js'

const read = (n: number) => ({
  to: '0x00000000000000000000000000000000000000aa' as const,
  data: `0x${n}` as const,
})

describe('createReadMemory', () => {
  it("keeps the last run's reads per key, once each, and starts over with the next run", () => {
    const memory = createReadMemory()
    memory.record('lock|timer:1', 'job-a', read(1))
    memory.record('lock|timer:1', 'job-a', read(2))
    memory.record('lock|timer:1', 'job-a', read(1))
    expect(memory.recall('lock|timer:1')).toEqual([read(1), read(2)])
    memory.record('lock|timer:1', 'job-b', read(3))
    expect(memory.recall('lock|timer:1')).toEqual([read(3)])
    expect(memory.recall('lock|timer:2')).toEqual([])
  })

  it('is bounded: the keys used last, and a few reads per key', () => {
    const memory = createReadMemory({ maxKeys: 100, maxReads: 4 })
    for (let i = 0; i < 10_000; i++) memory.record(`k${i}`, `job${i}`, read(i))
    expect(memory.size()).toBe(100)
    expect(memory.recall('k0')).toEqual([])
    expect(memory.recall('k9999')).toEqual([read(9999)])
    for (let i = 0; i < 10; i++) memory.record('k9999', 'job9999', read(i))
    expect(memory.recall('k9999')).toHaveLength(4)
  })
})
