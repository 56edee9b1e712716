import { describe, expect, it } from 'vitest'
import { createEmitter } from './createEmitter.js'

type Events = { block: { number: bigint }; warning: string }

describe('createEmitter', () => {
  it('hands each payload to every listener of that event, synchronously, and to no other event', () => {
    const events = createEmitter<Events>()
    const blocks: bigint[] = []
    const warnings: string[] = []
    events.on('block', (b) => blocks.push(b.number))
    events.on('block', (b) => blocks.push(b.number * 10n))
    events.on('warning', (w) => warnings.push(w))
    events.emit('block', { number: 1n })
    expect(blocks).toEqual([1n, 10n])
    expect(warnings).toEqual([])
  })

  it('stops calling a listener once its off() ran', () => {
    const events = createEmitter<Events>()
    const seen: string[] = []
    const off = events.on('warning', (w) => seen.push(w))
    events.emit('warning', 'a')
    off()
    events.emit('warning', 'b')
    expect(seen).toEqual(['a'])
  })

  it('keeps going when a listener throws: later listeners still run and emit does not throw', () => {
    const events = createEmitter<Events>()
    const seen: string[] = []
    events.on('warning', () => {
      throw new Error('listener bug')
    })
    events.on('warning', (w) => seen.push(w))
    expect(() => events.emit('warning', 'still delivered')).not.toThrow()
    expect(seen).toEqual(['still delivered'])
  })

  it('emits to nobody without error when an event has no listeners', () => {
    const events = createEmitter<Events>()
    expect(() => events.emit('block', { number: 2n })).not.toThrow()
  })
})
