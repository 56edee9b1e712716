import type { Job } from '../store/types.js'
import type { Queue } from './types.js'

/**
 * The embedded queue: batches (one per block) run in order; the jobs inside a batch run concurrently, up
 * to `concurrency`, because one block's jobs are independent while a later block may undo an earlier one
 * (lock, then unlock).
 *
 * @example
 * const queue = createMemoryQueue({ concurrency: 16 })
 * queue.start(async (job) => runJob(common, job))
 * queue.push(jobs)
 */
export function createMemoryQueue(options: { concurrency?: number } = {}): Queue {
  const concurrency = options.concurrency ?? 16
  const batches: Job[][] = []
  let worker: ((job: Job) => Promise<void>) | undefined
  let active = 0
  let draining = false
  let closed = false
  let waiters: (() => void)[] = []

  const settle = () => {
    if (active === 0 && batches.length === 0) {
      for (const w of waiters) w()
      waiters = []
    }
  }

  const drain = async () => {
    if (draining || !worker) return
    draining = true
    try {
      while (!closed && batches.length > 0) {
        const batch = batches[0] as Job[]
        const running = new Set<Promise<void>>()
        while (batch.length > 0 || running.size > 0) {
          while (batch.length > 0 && running.size < concurrency) {
            const job = batch.shift() as Job
            active++
            const p: Promise<void> = worker(job)
              .catch(() => {})
              .finally(() => {
                active--
                running.delete(p)
              })
            running.add(p)
          }
          if (running.size > 0) await Promise.race(running)
        }
        batches.shift()
      }
    } finally {
      draining = false
      settle()
    }
  }

  return {
    push(jobs) {
      if (closed || jobs.length === 0) return
      batches.push([...jobs])
      void drain()
    },
    start(w) {
      worker = w
      void drain()
    },
    idle() {
      if (active === 0 && batches.length === 0) return Promise.resolve()
      return new Promise((resolve) => waiters.push(resolve))
    },
    size: () => batches.reduce((n, b) => n + b.length, 0) + active,
    async close() {
      closed = true
      batches.length = 0
      await new Promise<void>((resolve) => {
        if (active === 0) resolve()
        else waiters.push(resolve)
      })
    },
  }
}
