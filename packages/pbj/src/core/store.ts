import type { Cursor } from './block.js'
import type { BlockWrite } from './blockWrite.js'
import type { DeviceDesired, DeviceRecord } from './device.js'
import type { DeviceCorrectionStore } from './deviceCorrection.js'
import type { Job, JobStatus, NewJob } from './job.js'
import type { RelayedTxStore } from './relayedTx.js'
import type { Run } from './run.js'
import type { Timer } from './timer.js'
import type { UsageStore } from './usage.js'

/**
 * The durable state of the pipeline. Embedded: SQLite (`createSqliteStore`); a Postgres store implements
 * the same interface. Methods are async so a networked store fits behind it.
 */
export type Store = {
  getCursor(chainId: number): Promise<Cursor | null>
  /** Writes a block's jobs, timers and condition states and advances the cursor, atomically. */
  commitBlock(chainId: number, write: BlockWrite): Promise<void>
  /** Timers due at `timestamp` (at <= timestamp), soonest first. */
  dueTimers(timestamp: bigint, limit?: number): Promise<Timer[]>
  getTimer(id: string): Promise<Timer | null>
  /** Arms a timer unless one with that id exists (schedules at start-up). */
  ensureTimer(timer: Timer): Promise<void>
  getConditions(ids: string[]): Promise<Map<string, boolean>>
  /** Jobs to (re)run: pending ones due by now and ones left `running` by a crash. */
  unfinishedJobs(): Promise<Job[]>
  /** Moves `waiting` jobs whose confirmations are reached to `pending` and returns them. */
  releaseJobs(head: bigint, finalized: bigint | null): Promise<Job[]>
  /** The hash pbj processed at a height, within the kept window of recent blocks. */
  getBlockHash(chainId: number, number: bigint): Promise<string | null>
  /** Jobs of blocks above `number` that have not been orphaned. */
  jobsAbove(number: bigint): Promise<Job[]>
  /**
   * Rolls the store back to `ancestor` after a reorg, atomically: timers and conditions are restored as
   * they were, jobs of removed blocks that had not started are orphaned, `compensations` (onReorg jobs for
   * the ones that had) are added, and the cursor moves to the ancestor.
   */
  rollback(chainId: number, ancestor: Cursor, compensations: NewJob[]): Promise<{ orphaned: number }>
  getJob(id: string): Promise<Job | null>
  /** Claims pending jobs whose retry time has come (`runAfter` in (0, now]), so each is queued once. */
  claimDueRetries(now: number): Promise<Job[]>
  /** Re-queues a failed or dead-lettered job (`pbj runs retry`): pending now, attempts counted afresh. */
  retryJob(id: string, now: number): Promise<Job | null>
  listJobs(filter: { status: JobStatus[]; limit?: number }): Promise<Job[]>
  /**
   * Starts the job's run `runId` as its next attempt (counted here, so no read comes first; `job.attempts`
   * is what the caller saw, the store's count wins when it moved), durably, with
   * the run in progress on the job; returns the attempt, or null when the job may not start (done, failed,
   * dead, orphaned by a reorg, held). A job found running already (a crash cut its run short) starts
   * again, and the run it had is recorded as it stood. Written before a run's first ctx call: what a run
   * does outside its sandbox goes through ctx, so no effect is seen before its job is marked started (a
   * reorg compensates it; a crash retries it with the attempt counted).
   */
  startRun(job: Pick<Job, 'id' | 'attempts'>, runId: string, startedAt: number): Promise<number | null>
  /**
   * Records a run that ended and its job's next state in one write (they commit together): done, a retry
   * (`pending` with `runAfter`), failed or dead. A run not `started` (it made no ctx call, so nothing of it
   * was seen outside its sandbox) is started in the same write, on startRun's conditions: when the job may
   * not start, nothing is recorded and the answer is false. Its `attempt` is then the job's attempts as the
   * caller saw them plus one; the store records its own count when that moved.
   */
  finishRun(
    run: Run,
    job: { status: JobStatus; runAfter?: number; lastError?: string },
    started: boolean,
  ): Promise<boolean>
  setJobStatus(
    jobId: string,
    status: JobStatus,
    fields?: { runAfter?: number; lastError?: string },
  ): Promise<void>
  listRuns(filter?: { functionName?: string; status?: Run['status']; limit?: number }): Promise<Run[]>
  getRun(id: string): Promise<Run | null>
  kvGet(scope: string, key: string): Promise<string | null>
  /**
   * Stores a value. With `maxScopeBytes`, atomically refuses (stores nothing) when the scope's keys and
   * values (UTF-8 bytes, the replaced value not counted) would exceed it; `scopeBytes` is that total.
   */
  kvSet(
    scope: string,
    key: string,
    value: string,
    maxScopeBytes?: number,
  ): Promise<{ stored: boolean; scopeBytes: number }>
  kvDelete(scope: string, key: string): Promise<void>
  getDevice(deviceId: string): Promise<DeviceRecord | null>
  /**
   * The records of several devices in one read (the outbox signs a block's commands together); devices
   * with no record are left out. Order is not kept.
   */
  getDevices(deviceIds: readonly string[]): Promise<DeviceRecord[]>
  /**
   * Sets a device's desired state. Idempotent by `commandId`: the same command returns the version it got
   * the first time; a state equal to the current desired state does not bump the version.
   */
  setDesired(
    deviceId: string,
    desired: DeviceDesired,
    commandId: string,
    at: number,
    blockNumber?: bigint,
  ): Promise<{ version: number; changed: boolean; commandId: string }>
  /**
   * Records that the broker acknowledged `version` of the device's desired state. Never moves back, so a
   * late acknowledgement of an older version cannot hide a newer one still to deliver.
   */
  markPublished(deviceId: string, version: number, at: number): Promise<void>
  /**
   * Devices whose desired version the broker has not acknowledged yet (the outbox), by device id, at most
   * `limit` (default 1,000) after the id `after`, for paging.
   */
  unpublishedDevices(limit?: number, after?: string): Promise<DeviceRecord[]>
  /**
   * Devices whose desired version the broker acknowledged at or before `publishedBefore` (ms) but that have
   * not reported it since: the car may have missed it (a cleared or replaced retained message, a broker that
   * restarted), so the dispatcher's reconciliation publishes it again. Paged like `unpublishedDevices`.
   */
  unacknowledgedDevices(publishedBefore: number, limit?: number, after?: string): Promise<DeviceRecord[]>
  /** Counts one more correction of the device (its `corrections`); a report of its desired version resets it. */
  markCorrected(deviceId: string): Promise<void>
  /**
   * Devices whose reported version is behind their desired version (the car has not applied its current
   * desired state), and when the oldest of those desired states was set (ms): the drift gauges of /metrics.
   */
  deviceDrift(): Promise<{ devices: number; oldestDesiredAt: number | null }>
  /**
   * Every device pbj keeps state for, by device id, at most `limit` (default 1,000) after the id `after`,
   * for paging: desired, reported and published versions side by side (`pbj devices`).
   */
  listDevices(limit?: number, after?: string): Promise<DeviceRecord[]>
  recordReported(
    deviceId: string,
    reported: { locked: boolean; message?: string | undefined },
    version: number,
    at: number,
  ): Promise<void>
  /** Transactions the relayer signed and follows (`ctx.chain.write`), by idempotency key. */
  relayedTxs: RelayedTxStore
  /** Metered usage of runs and its on-chain settlements (prepaid execution, payment/). */
  usage: UsageStore
  /** What chain-level reconciliation found and did to devices (actions/devices/createChainReconciler). */
  deviceCorrections: DeviceCorrectionStore
  close(): Promise<void>
}
