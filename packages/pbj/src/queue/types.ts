import type { Job } from '../core/job.js'

/**
 * Hands jobs to workers. Embedded: an in-process queue (`createMemoryQueue`); NATS JetStream fits behind
 * the same interface. Jobs are already durable in the store when pushed, so a queue may lose its contents
 * on a crash: the engine re-pushes unfinished jobs at start-up.
 */
export type Queue = {
  /** Enqueues the jobs of one block, in order. A batch starts after the previous batch has finished. */
  push(jobs: readonly Job[]): void
  /** Starts handing jobs to `worker`. */
  start(worker: (job: Job) => Promise<void>): void
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>
  size(): number
  close(): Promise<void>
}
