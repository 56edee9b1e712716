import { describe, expect, it } from 'vitest'
import { createEmitter, type Emitter } from './createEmitter.js'
import { waitFor } from './waitFor.js'

type Events = { reported: { locked: boolean; version: number } }

describe('waitFor', () => {
  it('resolves with the first payload the predicate accepts, skipping the others', async () => {
    const events: Emitter<Events> = createEmitter<Events>()
    const waiting = waitFor(events, 'reported', (r) => r.locked, 1_000, 'car to lock')
    events.emit('reported', { locked: false, version: 1 })
    events.emit('reported', { locked: true, version: 2 })
    events.emit('reported', { locked: true, version: 3 })
    await expect(waiting).resolves.toEqual({ locked: true, version: 2 })
  })

  it('stops listening once resolved: the predicate sees no later payload', async () => {
    const events: Emitter<Events> = createEmitter<Events>()
    let calls = 0
    const waiting = waitFor(
      events,
      'reported',
      () => {
        calls += 1
        return true
      },
      1_000,
      'any report',
    )
    events.emit('reported', { locked: true, version: 1 })
    await waiting
    events.emit('reported', { locked: true, version: 2 })
    expect(calls).toBe(1)
  })

  it('rejects after the timeout, naming what it waited for, and stops listening', async () => {
    const events: Emitter<Events> = createEmitter<Events>()
    let calls = 0
    const started = performance.now()
    await expect(
      waitFor(
        events,
        'reported',
        () => {
          calls += 1
          return false
        },
        50,
        'car to lock',
      ),
    ).rejects.toThrow('Timed out after 50 ms waiting for car to lock')
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    events.emit('reported', { locked: true, version: 1 })
    expect(calls).toBe(0)
  })
})
