import { describe, expect, it } from 'vitest'
import { createNonceManager } from './createNonceManager.js'

describe('createNonceManager', () => {
  it('starts above both the chain and the records in flight, and only moves up on sync', () => {
    const nonces = createNonceManager()
    expect(nonces.synced()).toBe(false)
    nonces.sync(4, 9)
    expect(nonces.take()).toBe(10)
    nonces.sync(7, null)
    expect(nonces.peek()).toBe(11)
    nonces.sync(15, null)
    expect(nonces.peek()).toBe(15)
  })

  it('gives back only the last nonce taken, and rewinds only downwards', () => {
    const nonces = createNonceManager()
    nonces.sync(0, null)
    const a = nonces.take()
    const b = nonces.take()
    nonces.giveBack(a)
    expect(nonces.peek()).toBe(2)
    nonces.giveBack(b)
    expect(nonces.peek()).toBe(1)
    nonces.rewind(5)
    expect(nonces.peek()).toBe(1)
    nonces.rewind(0)
    expect(nonces.peek()).toBe(0)
  })

  it('runs locked sections one at a time, in order, and survives a failing one', async () => {
    const nonces = createNonceManager()
    const order: string[] = []
    const slow = nonces.locked(async () => {
      order.push('a:start')
      await new Promise((r) => setTimeout(r, 20))
      order.push('a:end')
    })
    const failing = nonces.locked(async () => {
      order.push('b')
      throw new Error('boom')
    })
    const last = nonces.locked(async () => order.push('c'))
    await slow
    await expect(failing).rejects.toThrow('boom')
    await last
    expect(order).toEqual(['a:start', 'a:end', 'b', 'c'])
  })
})
