import { describe, expect, it } from 'vitest'
import { createKeyedLock } from './createKeyedLock.js'
import { sleep } from './sleep.js'

describe('createKeyedLock', () => {
  it('orders tasks of one key and lets other keys run alongside', async () => {
    const locks = createKeyedLock<string>()
    const order: string[] = []
    const a1 = locks.run('a', async () => {
      await sleep(30)
      order.push('a1')
    })
    const a2 = locks.run('a', () => void order.push('a2'))
    const b1 = locks.run('b', () => void order.push('b1'))
    await Promise.all([a1, a2, b1])
    expect(order).toEqual(['b1', 'a1', 'a2'])
  })

  it('passes a failure to its caller only, and forgets keys that went idle', async () => {
    const locks = createKeyedLock<string>()
    const failed = locks.run('a', () => Promise.reject(new Error('boom')))
    const next = locks.run('a', () => 'ran')
    expect(locks.size()).toBe(1)
    await expect(failed).rejects.toThrow('boom')
    await expect(next).resolves.toBe('ran')
    await sleep(0)
    expect(locks.size()).toBe(0)
  })
})
