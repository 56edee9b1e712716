import { describe, expect, it } from 'vitest'
import { createLock } from './createLock.js'
import { sleep } from './sleep.js'

describe('createLock', () => {
  it('runs tasks one at a time in the order they came, past a failing one', async () => {
    const lock = createLock()
    const order: string[] = []
    const slow = lock.run(async () => {
      await sleep(20)
      order.push('slow')
      return 1
    })
    const failing = lock.run(() => {
      order.push('failing')
      throw new Error('boom')
    })
    const fast = lock.run(() => {
      order.push('fast')
      return 3
    })
    await expect(slow).resolves.toBe(1)
    await expect(failing).rejects.toThrow('boom')
    await expect(fast).resolves.toBe(3)
    expect(order).toEqual(['slow', 'failing', 'fast'])
  })

  it('idle() waits for everything handed in so far and never rejects', async () => {
    const lock = createLock()
    let done = false
    lock
      .run(async () => {
        await sleep(20)
        done = true
        throw new Error('late failure')
      })
      .catch(() => {})
    await lock.idle()
    expect(done).toBe(true)
  })
})
