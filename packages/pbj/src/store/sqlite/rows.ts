import type { Hex } from 'viem'
import { z } from 'zod'
import type { Cursor } from '../../core/block.js'
import type { DeviceDesired, DeviceRecord } from '../../core/device.js'
import type { Job, JobEntry, JobStatus } from '../../core/job.js'
import type { Run } from '../../core/run.js'
import type { Timer } from '../../core/timer.js'
import { readJson } from './internal/readJson.js'

/*
 * One type per table, as SQLite hands its rows back (better-sqlite3: INTEGER → number, NULL → null), and one
 * function per row that makes the domain object. Hashes and enum columns are typed as pbj writes them; JSON
 * columns are parsed and checked (readJson), since a file can be edited outside pbj.
 */

/** A `cursor` (and `blocks`) row. */
export type CursorRow = { chain_id: number; number: number; hash: Hex; parent_hash: Hex; timestamp: number }

/** A `jobs` row. */
export type JobRow = {
  id: string
  function_name: string
  entry: JobEntry
  input: string
  block_number: number
  block_hash: Hex
  ready_at: number | null
  status: JobStatus
  attempts: number
  created_at: number
  run_after: number
  last_error: string | null
}

/** A `runs` row; `logs` and `error` are JSON. */
export type RunRow = {
  id: string
  job_id: string
  function_name: string
  attempt: number
  status: Run['status']
  started_at: number
  ended_at: number | null
  duration_ms: number | null
  logs: string
  error: string | null
}

/** A `timers` row. */
export type TimerRow = { id: string; function_name: string; key: string; at: number }

/** A `devices` row; `desired` and `reported` are JSON. */
export type DeviceRow = {
  device_id: string
  desired: string | null
  desired_version: number
  command_id: string | null
  desired_at: number | null
  reported: string | null
  reported_version: number
  reported_at: number | null
  published_version: number
  published_at: number | null
  desired_block: number | null
  corrections: number
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null
/** A device state has at least `locked`; the rest belongs to the device class and is kept as written. */
const hasLocked = (v: unknown) => isObject(v) && typeof v.locked === 'boolean'
const logsSchema = z.array(z.looseObject({ level: z.string(), message: z.string(), at: z.number() }))
const runErrorSchema = z
  .looseObject({ name: z.string(), reason: z.string().nullable(), message: z.string() })
  .nullable()
const desiredSchema = z.custom<DeviceDesired>(hasLocked)
const reportedSchema = z.custom<NonNullable<DeviceRecord['reported']>>(hasLocked)

/** Reads a cursor row. @example toCursor({ number: 1, hash: '0x…', parent_hash: '0x…', timestamp: 5 }) */
export const toCursor = (r: CursorRow): Cursor => ({
  number: BigInt(r.number),
  hash: r.hash,
  parentHash: r.parent_hash,
  timestamp: BigInt(r.timestamp),
})

/** Reads a job row. @example toJob(row).status // 'pending' */
export const toJob = (r: JobRow): Job => ({
  id: r.id,
  functionName: r.function_name,
  entry: r.entry,
  input: r.input,
  blockNumber: BigInt(r.block_number),
  blockHash: r.block_hash,
  readyAt: r.ready_at === null ? null : BigInt(r.ready_at),
  status: r.status,
  attempts: r.attempts,
  createdAt: r.created_at,
  runAfter: r.run_after,
  lastError: r.last_error,
})

/** Reads a run row. @example toRun(row).logs // [] */
export const toRun = (r: RunRow): Run => ({
  id: r.id,
  jobId: r.job_id,
  functionName: r.function_name,
  attempt: r.attempt,
  status: r.status,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  durationMs: r.duration_ms,
  logs: readJson(logsSchema, r.logs, 'runs.logs'),
  error: r.error === null ? null : readJson(runErrorSchema, r.error, 'runs.error'),
})

/** Reads a timer row. @example toTimer(row).at // 1700000000n */
export const toTimer = (r: TimerRow): Timer => ({
  id: r.id,
  functionName: r.function_name,
  key: r.key,
  at: BigInt(r.at),
})

/** Reads a device row. @example toDevice(row).desiredVersion // 3 */
export const toDevice = (r: DeviceRow): DeviceRecord => ({
  deviceId: r.device_id,
  desired: r.desired === null ? null : readJson(desiredSchema, r.desired, 'devices.desired'),
  desiredVersion: r.desired_version,
  commandId: r.command_id,
  desiredAt: r.desired_at,
  reported: r.reported === null ? null : readJson(reportedSchema, r.reported, 'devices.reported'),
  reportedVersion: r.reported_version,
  reportedAt: r.reported_at,
  publishedVersion: r.published_version,
  publishedAt: r.published_at,
  corrections: r.corrections,
  desiredBlock: r.desired_block === null ? null : BigInt(r.desired_block),
})
