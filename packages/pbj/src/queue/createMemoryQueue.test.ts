import { describe, expect, it } from 'vitest'
import type { Job } from '../core/job.js'
import { createMemoryQueue } from './createMemoryQueue.js'

const job = (id: string): Job => ({
  id,
  functionName: 'f',
  entry: 'handler',
  input: '{}',
  blockNumber: 1n,
  blockHash: '0x00',
  readyAt: 1n,
  status: 'pending',
  attempts: 0,
  createdAt: 0,
  runAfter: 0,
  lastError: null,
})
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('createMemoryQueue', () => {
  it('runs a batch at most `concurrency` at a time, and a batch only after the previous one', async () => {
    const queue = createMemoryQueue({ concurrency: 3 })
    const log: string[] = []
    let running = 0
    let most = 0
    queue.start(async (j) => {
      running++
      most = Math.max(most, running)
      log.push(`start ${j.id}`)
      await tick()
      log.push(`end ${j.id}`)
      running--
    })
    queue.push(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'].map(job))
    queue.push(['b1', 'b2'].map(job))
    expect(queue.size()).toBe(9)
    await queue.idle()
    expect(most).toBe(3)
    expect(log.filter((l) => l.startsWith('end a')).length).toBe(7)
    // Every job of block a ended before any job of block b started.
    expect(log.indexOf('start b1')).toBeGreaterThan(log.lastIndexOf('end a7'))
    expect(queue.size()).toBe(0)
  })

  it('goes on after a job throws, and closes once the jobs running have ended', async () => {
    const queue = createMemoryQueue({ concurrency: 2 })
    const done: string[] = []
    queue.start(async (j) => {
      await tick()
      if (j.id === 'x') throw new Error('boom')
      done.push(j.id)
    })
    queue.push(['x', 'y', 'z'].map(job))
    await queue.idle()
    expect(done).toEqual(['y', 'z'])
    queue.push(['p', 'q', 'r'].map(job))
    await queue.close()
    expect(queue.size()).toBe(0)
    queue.push([job('late')])
    await tick()
    expect(done).not.toContain('late')
  })
})
