import { describe, expect, it } from 'vitest'
import { createShutdown } from './shutdown.js'

describe('createShutdown', () => {
  it('runs its cleanups in the order they were added, each awaited, and only once', async () => {
    const shutdown = createShutdown()
    const done: string[] = []
    shutdown.add(async () => {
      await new Promise((r) => setTimeout(r, 10))
      done.push('follower')
    })
    shutdown.add(() => done.push('store'))
    expect(shutdown.isKilled).toBe(false)
    const first = shutdown.kill()
    expect(shutdown.isKilled).toBe(true)
    await Promise.all([first, shutdown.kill()])
    expect(done).toEqual(['follower', 'store'])
  })
})
