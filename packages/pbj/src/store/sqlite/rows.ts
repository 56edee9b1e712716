import type { Hex } from 'viem'
import type { Cursor } from '../../core/block.js'
import type { DeviceRecord } from '../../core/device.js'
import type { Job } from '../../core/job.js'
import type { Run } from '../../core/run.js'
import type { Timer } from '../../core/timer.js'

type Row = Record<string, unknown>

/** Reads a cursor row. @example toCursor({ number: 1, hash: '0x…', parent_hash: '0x…', timestamp: 5 }) */
export const toCursor = (r: Row): Cursor => ({
  number: BigInt(r.number as number | bigint),
  hash: r.hash as Hex,
  parentHash: r.parent_hash as Hex,
  timestamp: BigInt(r.timestamp as number | bigint),
})

/** Reads a job row. @example toJob(row).status // 'pending' */
export const toJob = (r: Row): Job => ({
  id: r.id as string,
  functionName: r.function_name as string,
  entry: r.entry as Job['entry'],
  input: r.input as string,
  blockNumber: BigInt(r.block_number as number | bigint),
  blockHash: r.block_hash as Hex,
  readyAt: r.ready_at == null ? null : BigInt(r.ready_at as number | bigint),
  status: r.status as Job['status'],
  attempts: Number(r.attempts),
  createdAt: Number(r.created_at),
  runAfter: Number(r.run_after),
  lastError: (r.last_error as string | null) ?? null,
})

/** Reads a run row. @example toRun(row).logs // [] */
export const toRun = (r: Row): Run => ({
  id: r.id as string,
  jobId: r.job_id as string,
  functionName: r.function_name as string,
  attempt: Number(r.attempt),
  status: r.status as Run['status'],
  startedAt: Number(r.started_at),
  endedAt: r.ended_at == null ? null : Number(r.ended_at),
  durationMs: r.duration_ms == null ? null : Number(r.duration_ms),
  logs: JSON.parse(r.logs as string),
  error: r.error == null ? null : JSON.parse(r.error as string),
})

/** Reads a timer row. @example toTimer(row).at // 1700000000n */
export const toTimer = (r: Row): Timer => ({
  id: r.id as string,
  functionName: r.function_name as string,
  key: r.key as string,
  at: BigInt(r.at as number | bigint),
})

/** Reads a device row. @example toDevice(row).desiredVersion // 3 */
export const toDevice = (r: Row): DeviceRecord => ({
  deviceId: r.device_id as string,
  desired: r.desired == null ? null : JSON.parse(r.desired as string),
  desiredVersion: Number(r.desired_version),
  commandId: (r.command_id as string | null) ?? null,
  desiredAt: r.desired_at == null ? null : Number(r.desired_at),
  reported: r.reported == null ? null : JSON.parse(r.reported as string),
  reportedVersion: Number(r.reported_version),
  reportedAt: r.reported_at == null ? null : Number(r.reported_at),
  publishedVersion: Number(r.published_version ?? 0),
  publishedAt: r.published_at == null ? null : Number(r.published_at),
  corrections: Number(r.corrections ?? 0),
  desiredBlock: r.desired_block == null ? null : BigInt(r.desired_block as number | bigint),
})
