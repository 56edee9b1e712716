import type { Job } from '../core/job.js'
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

  /** Jobs of the batch in progress (still first in `batches`) already handed to the worker. */
  let started = 0

  /**
   * Runs one batch, at most `concurrency` jobs at a time: each job that ends starts the next. (Waiting with
   * Promise.race over the running set would add a reaction to every running job per job: O(concurrency).)
   */
  const runBatch = (batch: readonly Job[], run: (job: Job) => Promise<void>) =>
    new Promise<void>((resolve) => {
      let next = 0
      let running = 0
      started = 0
      // One reaction per job, for its end whichever way it ends (catch + finally would be two promises).
      const ended = () => {
        running--
        active--
        fill()
      }
      const fill = () => {
        while (running < concurrency && next < batch.length) {
          const job = batch[next++] as Job
          started++
          running++
          active++
          run(job).then(ended, ended)
        }
        if (running === 0 && next >= batch.length) resolve()
      }
      fill()
    })

  const drain = async () => {
    if (draining || !worker) return
    draining = true
    try {
      while (!closed && batches.length > 0) {
        await runBatch(batches[0] as Job[], worker)
        batches.shift()
        started = 0
      }
    } finally {
      draining = false
      started = 0
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
    // Closing empties `batches` while the batch in progress finishes: then only running jobs count.
    size: () => (batches.length === 0 ? 0 : batches.reduce((n, b) => n + b.length, 0) - started) + active,
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
