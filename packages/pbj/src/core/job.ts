import type { Hex } from 'viem'

/** Which handler of a function a job runs. */
export type JobEntry = 'handler' | 'onReorg'

/**
 * `waiting` (for confirmations) → `pending` → `running` → `done`; or `failed` (a user error), `dead` (retries
 * exhausted; `pbj runs retry` re-queues it), `orphaned` (its block was reorged out before it ran); or back
 * to `pending` with a later `runAfter`. `held`: the project's execution balance cannot pay for a run (see
 * payment/); back to `pending` when a deposit arrives, never dropped.
 */
export type JobStatus = 'waiting' | 'pending' | 'running' | 'done' | 'failed' | 'dead' | 'orphaned' | 'held'

/** When a job may run: at once, after `n` blocks on top of its block, or once its block is finalized. */
export type Readiness = { confirmations: number } | 'finalized'

/** A unit of work produced by a block, keyed deterministically so a replayed block makes the same job. */
export type Job = {
  /** `chainId:blockHash:source:function`, so the same cause never makes two jobs. */
  id: string
  functionName: string
  entry: JobEntry
  /** The run input (block, event, deadline…), JSON with bigints kept. */
  input: string
  blockNumber: bigint
  blockHash: Hex
  /** Block height at which the job may run; null: when its block is finalized. */
  readyAt: bigint | null
  status: JobStatus
  attempts: number
  createdAt: number
  runAfter: number
  lastError: string | null
}

/** A new job, as a block's plan makes it. */
export type NewJob = Pick<
  Job,
  'id' | 'functionName' | 'entry' | 'input' | 'blockNumber' | 'blockHash' | 'readyAt'
>
