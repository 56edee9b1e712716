import type { Database } from 'better-sqlite3'
import type { JobStatus } from '../../core/job.js'
import type { Run } from '../../core/run.js'
import type { Store } from '../../core/store.js'
import { createGroupCommit } from './createGroupCommit.js'
import { type JobRow, type RunRow, toJob, toRun } from './rows.js'
import { timeOrderedUuid } from './timeOrderedUuid.js'

type JobMethods =
  | 'unfinishedJobs'
  | 'releaseJobs'
  | 'getJob'
  | 'claimDueRetries'
  | 'retryJob'
  | 'listJobs'
  | 'startRun'
  | 'finishRun'
  | 'setJobStatus'
  | 'listRuns'
  | 'getRun'

/**
 * Jobs and runs on SQLite. Starting a run is a conditional update, so a job a reorg has just orphaned can
 * never start, and a job that started before the reorg is known to have (and gets compensated). Starting,
 * finishing and job status writes are group-committed (see createGroupCommit): the runs of a busy block
 * share commits instead of paying one each.
 *
 * @example
 * const started = await sqliteJobs(db).startRun('31337:0xabc…:log3:unlock', 'unlock', Date.now())
 */
export function sqliteJobs(db: Database): Pick<Store, JobMethods> {
  const q = {
    unfinished: db.prepare<[], JobRow>(
      "SELECT * FROM jobs WHERE status = 'running' OR (status = 'pending' AND run_after = 0) ORDER BY block_number, created_at, id",
    ),
    releasable: db.prepare<[bigint, bigint], JobRow>(
      `SELECT * FROM jobs WHERE status = 'waiting' AND (ready_at <= ? OR (ready_at IS NULL AND block_number <= ?))
       ORDER BY block_number, id`,
    ),
    release: db.prepare<[string]>("UPDATE jobs SET status = 'pending' WHERE id = ? AND status = 'waiting'"),
    getJob: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?'),
    claimDue: db.prepare<[number], JobRow>(
      "UPDATE jobs SET run_after = 0 WHERE status = 'pending' AND run_after > 0 AND run_after <= ? RETURNING *",
    ),
    retry: db.prepare<[number, string], JobRow>(
      "UPDATE jobs SET status = 'pending', attempts = 0, run_after = ? WHERE id = ? AND status IN ('failed', 'dead') RETURNING *",
    ),
    startJob: db.prepare<[string], { attempts: number }>(
      "UPDATE jobs SET status = 'running', attempts = attempts + 1 WHERE id = ? AND status IN ('pending', 'running') RETURNING attempts",
    ),
    insertRun: db.prepare<[string, string, string, number, number]>(
      `INSERT INTO runs (id, job_id, function_name, attempt, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)`,
    ),
    finishRun: db.prepare<[Run['status'], number, number, string, string | null, string]>(
      'UPDATE runs SET status = ?, ended_at = ?, duration_ms = ? - started_at, logs = ?, error = ? WHERE id = ?',
    ),
    setJobStatus: db.prepare<[JobStatus, number | null, string | null, string]>(
      'UPDATE jobs SET status = ?, run_after = coalesce(?, run_after), last_error = coalesce(?, last_error) WHERE id = ?',
    ),
    getRun: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?'),
  }
  const release = db.transaction((head: bigint, finalized: bigint) => {
    const rows = q.releasable.all(head, finalized).map(toJob)
    for (const j of rows) q.release.run(j.id)
    return rows.map((j) => ({ ...j, status: 'pending' as const }))
  })
  const write = createGroupCommit(db)
  // The job and its run change together without a savepoint of their own (two statements more per run):
  // the group commit applies a write whole or not at all (a write that throws rolls its group back, and
  // the group is then applied write by write, each in its own transaction).
  const start = (jobId: string, functionName: string, startedAt: number) => {
    const started = q.startJob.get(jobId)
    if (!started) return null
    // A UUIDv7: time-ordered (monotonic within a millisecond), so new runs are appended to the runs index
    // rather than spread over its pages.
    const runId = timeOrderedUuid()
    q.insertRun.run(runId, jobId, functionName, started.attempts, startedAt)
    return { runId, attempt: started.attempts }
  }
  return {
    async unfinishedJobs() {
      return q.unfinished.all().map(toJob)
    },
    async releaseJobs(head, finalized) {
      return release(head, finalized ?? -1n)
    },
    async getJob(id) {
      const row = q.getJob.get(id)
      return row ? toJob(row) : null
    },
    async claimDueRetries(now) {
      return q.claimDue.all(now).map(toJob)
    },
    async retryJob(id, now) {
      const row = q.retry.get(now, id)
      return row ? toJob(row) : null
    },
    async listJobs(filter) {
      const marks = filter.status.map(() => '?').join(', ')
      const sql = `SELECT * FROM jobs WHERE status IN (${marks}) ORDER BY created_at DESC LIMIT ?`
      return db
        .prepare<(JobStatus | number)[], JobRow>(sql)
        .all(...filter.status, filter.limit ?? 50)
        .map(toJob)
    },
    // The three writes of every run return the group commit's own promise (never a synchronous throw):
    // an async wrapper and its await would cost each run three more promises.
    startRun(jobId, functionName, startedAt) {
      return write(() => start(jobId, functionName, startedAt))
    },
    finishRun(runId, r) {
      const error = r.error ? JSON.stringify(r.error) : null
      const logs = r.logs.length === 0 ? '[]' : JSON.stringify(r.logs)
      return write(() => void q.finishRun.run(r.status, r.endedAt, r.endedAt, logs, error, runId))
    },
    setJobStatus(jobId, status, fields) {
      const runAfter = fields?.runAfter ?? null
      const lastError = fields?.lastError ?? null
      return write(() => void q.setJobStatus.run(status, runAfter, lastError, jobId))
    },
    async listRuns(filter = {}) {
      const where: string[] = []
      const args: string[] = []
      if (filter.functionName) where.push('function_name = ?') && args.push(filter.functionName)
      if (filter.status) where.push('status = ?') && args.push(filter.status)
      const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY started_at DESC LIMIT ?`
      return db
        .prepare<(string | number)[], RunRow>(sql)
        .all(...args, filter.limit ?? 50)
        .map(toRun)
    },
    async getRun(id) {
      const row = q.getRun.get(id)
      return row ? toRun(row) : null
    },
  }
}
