import { describe, expect, it } from 'vitest'
import { createHealth } from './health.js'

describe('createHealth', () => {
  it('is ready only when every declared or reported check is ok, and keeps since across same-state reports', () => {
    let t = 1_000
    const health = createHealth(() => t)
    expect(health.report().ready).toBe(true)
    health.expect('chain', 'connecting to the node')
    expect(health.report()).toEqual({
      ready: false,
      checks: { chain: { ok: false, detail: 'connecting to the node', since: 1_000 } },
    })
    const changes: string[] = []
    health.onChange((name, check) => changes.push(`${name}:${check.ok}`))
    t = 2_000
    health.set('chain', true)
    health.set('store', true)
    t = 3_000
    health.set('store', true)
    expect(health.report().ready).toBe(true)
    expect(health.report().checks.store?.since).toBe(2_000)
    health.set('store', false, 'disk full')
    expect(health.report()).toMatchObject({
      ready: false,
      checks: { store: { ok: false, detail: 'disk full', since: 3_000 } },
    })
    expect(changes).toEqual(['chain:true', 'store:true', 'store:false'])
    // expect() does not reset a check already reported.
    health.expect('chain', 'connecting')
    expect(health.report().checks.chain?.ok).toBe(true)
  })
})
