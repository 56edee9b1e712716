import { describe, expect, it } from 'vitest'
import { triggerTypes } from '../function/triggers.js'
import { checkTriggerAbi } from './checkTriggerAbi.js'
import { triggerKindOf, triggerKinds } from './triggerKinds.js'
import { triggerSchema } from './triggerSchema.js'

describe('triggerKinds', () => {
  it('has one kind for each trigger type users can write, and no other', () => {
    expect(triggerKinds.map((k) => k.type).sort()).toEqual([...triggerTypes].sort())
    expect(new Set(triggerKinds.map((k) => k.type)).size).toBe(triggerKinds.length)
    for (const kind of triggerKinds) expect(kind.example).toContain(`type: '${kind.type}'`)
  })

  it('finds a kind by type', () => {
    expect(triggerKindOf('deadline')?.type).toBe('deadline')
    expect(triggerKindOf('blok')).toBeUndefined()
  })
})

describe('triggerSchema', () => {
  it('is usable on its own', () => {
    expect(triggerSchema.safeParse({ type: 'blocks', every: 10 }).success).toBe(true)
    expect(triggerSchema.safeParse({ type: 'blocks', every: 1.5 }).success).toBe(false)
  })

  it('names every kind when the type is unknown', () => {
    const result = triggerSchema.safeParse({ type: 'blok' })
    expect(result.error?.issues[0]?.message).toBe(
      "must be one of 'event', 'condition', 'schedule', 'blocks', 'deadline'; got 'blok'",
    )
  })
})

describe('checkTriggerAbi', () => {
  it('has nothing to check for kinds without an ABI', () => {
    expect(checkTriggerAbi({ type: 'blocks', every: 1 })).toEqual([])
    expect(checkTriggerAbi({ type: 'schedule', every: 60 })).toEqual([])
  })
})
