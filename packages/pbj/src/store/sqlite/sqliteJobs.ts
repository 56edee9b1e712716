import type { Database } from 'better-sqlite3'
import type { JobStatus } from '../../core/job.js'
import type { Run } from '../../core/run.js'
import type { Store } from '../../core/store.js'
import { createGroupCommit } from './createGroupCommit.js'
import { type JobRow, type RunRow, toJob, toRun } from './rows.js'

/** A job's run in progress (on its row until the run ends), read as a `runs` row. */
const inProgressColumns = `run_id AS id, id AS job_id, function_name, attempts AS attempt, 'running' AS status,
  run_started_at AS started_at, NULL AS ended_at, NULL AS duration_ms, '[]' AS logs, NULL AS error`

/**
 * The condition of the partial index jobs_unfinished. SQLite uses a partial index only when the query
 * repeats its condition: `status = 'waiting'` alone scans the whole table, and releaseJobs runs every
 * block, the retry sweep (claimDueRetries) every few hundred ms (121 ms per block at 200,000 jobs without it, 0.013 ms with it, measured here).
 */
const unfinishedJobs = "status IN ('waiting', 'pending', 'running')"

/** The jobs running now, through jobs_unfinished. */
const runningJobs = `${unfinishedJobs} AND status = 'running'`

type JobNext = Parameters<Store['finishRun']>[1]

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
 * never start, and a job that started before the reorg is known to have (and gets compensated). A run's
 * start (one statement: the job running, its attempt counted, the run in progress on the job's row) is
 * written before its first ctx call; its end inserts the run's row whole with the job's new state; a run
 * that made no ctx call is started and ended in that one write (one UPDATE and one INSERT). Writes are
 * group-committed (see createGroupCommit): the runs of a busy block share commits instead of paying one each.
 *
 * @example
 * const attempt = await sqliteJobs(db).startRun(job, runId, Date.now())
 */
export function sqliteJobs(db: Database): Pick<Store, JobMethods> {
  const q = {
    unfinished: db.prepare<[], JobRow>(
      `SELECT * FROM jobs WHERE ${unfinishedJobs} AND (status = 'running' OR (status = 'pending' AND run_after = 0))
       ORDER BY block_number, created_at, id`,
    ),
    releasable: db.prepare<[bigint, bigint], JobRow>(
      `SELECT * FROM jobs WHERE ${unfinishedJobs} AND status = 'waiting' AND (ready_at <= ? OR (ready_at IS NULL AND block_number <= ?))
       ORDER BY block_number, id`,
    ),
    release: db.prepare<[string]>("UPDATE jobs SET status = 'pending' WHERE id = ? AND status = 'waiting'"),
    getJob: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?'),
    claimDue: db.prepare<[number], JobRow>(
      `UPDATE jobs SET run_after = 0 WHERE ${unfinishedJobs} AND status = 'pending' AND run_after > 0 AND run_after <= ? RETURNING *`,
    ),
    retry: db.prepare<[number, string], JobRow>(
      "UPDATE jobs SET status = 'pending', attempts = 0, run_after = ? WHERE id = ? AND status IN ('failed', 'dead') RETURNING *",
    ),
    // The common start: a pending job (new, or due for a retry) becomes running, its attempt counted and its
    // run in progress kept on its row, in one statement.
    startJob: db.prepare<[string, number, string], { attempts: number }>(
      "UPDATE jobs SET status = 'running', attempts = attempts + 1, run_id = ?, run_started_at = ? WHERE id = ? AND status = 'pending' RETURNING attempts",
    ),
    // A job already running (a crash cut its run short, or it was queued twice) starts again; the run it
    // had is recorded first (abandoned: still 'running', as it was when the engine stopped).
    restartJob: db.prepare<[string, number, string], { attempts: number }>(
      "UPDATE jobs SET attempts = attempts + 1, run_id = ?, run_started_at = ? WHERE id = ? AND status = 'running' RETURNING attempts",
    ),
    // The hot paths name the attempt they expect (the job's attempts as queued, plus one) instead of asking
    // for it back: RETURNING made the statement twice as costly here, and far worse as the table grew
    // (bench/runs/profileRunWrites.ts). A job whose attempts moved meanwhile takes the statements above.
    startExpected: db.prepare<[number, string, number, string, number]>(
      "UPDATE jobs SET status = 'running', attempts = ?, run_id = ?, run_started_at = ? WHERE id = ? AND status = 'pending' AND attempts = ?",
    ),
    // A run that made no ctx call, started and ended in one statement: the job's attempt counted and its new
    // state set, on startJob's condition.
    startAndEndJob: db.prepare<
      [JobStatus, number, string, number, number | null, string | null, string, number]
    >(
      `UPDATE jobs SET status = ?, attempts = ?, run_id = ?, run_started_at = ?,
         run_after = coalesce(?, run_after), last_error = coalesce(?, last_error)
       WHERE id = ? AND status = 'pending' AND attempts = ?`,
    ),
    runInProgress: db.prepare<[string], RunRow>(
      `SELECT ${inProgressColumns} FROM jobs WHERE id = ? AND status = 'running' AND run_id IS NOT NULL`,
    ),
    recordAbandoned: db.prepare<[string, string, string, number, number]>(
      `INSERT OR IGNORE INTO runs (id, job_id, function_name, attempt, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)`,
    ),
    // Upsert: a run recorded as abandoned (its job started again while it was still going) is completed.
    insertRun: db.prepare<
      [string, string, string, number, Run['status'], number, number, number, string, string | null]
    >(
      `INSERT INTO runs (id, job_id, function_name, attempt, status, started_at, ended_at, duration_ms, logs, error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at,
         duration_ms = excluded.duration_ms, logs = excluded.logs, error = excluded.error`,
    ),
    setJobStatus: db.prepare<[JobStatus, number | null, string | null, string]>(
      'UPDATE jobs SET status = ?, run_after = coalesce(?, run_after), last_error = coalesce(?, last_error) WHERE id = ?',
    ),
    getRun: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?'),
    // Few rows: only jobs running now, found through the jobs_unfinished index.
    getRunInProgress: db.prepare<[string], RunRow>(
      `SELECT ${inProgressColumns} FROM jobs WHERE ${runningJobs} AND run_id = ?`,
    ),
  }
  const release = db.transaction((head: bigint, finalized: bigint) => {
    const rows = q.releasable.all(head, finalized).map(toJob)
    for (const j of rows) q.release.run(j.id)
    return rows.map((j) => ({ ...j, status: 'pending' as const }))
  })
  const write = createGroupCommit(db)
  // The job and its run change together without a savepoint of their own: the group commit applies a
  // write whole or not at all (a write that throws rolls its group back, and the group is then applied
  // write by write, each in its own transaction).
  /** Starts the job's run `runId` as its next attempt (`attempt` expected); null when the job may not start. */
  const start = (jobId: string, attempt: number, runId: string, startedAt: number) => {
    if (q.startExpected.run(attempt, runId, startedAt, jobId, attempt - 1).changes === 1) return attempt
    const started = q.startJob.get(runId, startedAt, jobId) ?? restart(jobId, runId, startedAt)
    return started ? started.attempts : null
  }
  /** A job left running (a crash, or queued twice): the run it had is recorded, then it starts again. */
  const restart = (jobId: string, runId: string, startedAt: number) => {
    const abandoned = q.runInProgress.get(jobId)
    if (abandoned)
      q.recordAbandoned.run(
        abandoned.id,
        jobId,
        abandoned.function_name,
        abandoned.attempt,
        abandoned.started_at,
      )
    return q.restartJob.get(runId, startedAt, jobId)
  }
  const finish = (run: Run, next: JobNext, started: boolean) => {
    const runAfter = next.runAfter ?? null
    const lastError = next.lastError ?? null
    let attempt = run.attempt
    if (started) {
      q.setJobStatus.run(next.status, runAfter, lastError, run.jobId)
    } else {
      // Not started yet: its start is part of this write, on the same conditions as startRun's.
      const ended = q.startAndEndJob.run(
        next.status,
        attempt,
        run.id,
        run.startedAt,
        runAfter,
        lastError,
        run.jobId,
        attempt - 1,
      )
      if (ended.changes !== 1) {
        const started = start(run.jobId, attempt, run.id, run.startedAt)
        if (started === null) return false
        attempt = started
        q.setJobStatus.run(next.status, runAfter, lastError, run.jobId)
      }
    }
    const endedAt = run.endedAt ?? run.startedAt
    const error = run.error ? JSON.stringify(run.error) : null
    const logs = run.logs.length === 0 ? '[]' : JSON.stringify(run.logs)
    q.insertRun.run(
      run.id,
      run.jobId,
      run.functionName,
      attempt,
      run.status,
      run.startedAt,
      endedAt,
      endedAt - run.startedAt,
      logs,
      error,
    )
    return true
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
    // The two writes of every run return the group commit's own promise (never a synchronous throw): an
    // async wrapper and its await would cost each run more promises.
    startRun(job, runId, startedAt) {
      return write(() => start(job.id, job.attempts + 1, runId, startedAt))
    },
    finishRun(run, next, started) {
      return write(() => finish(run, next, started))
    },
    setJobStatus(jobId, status, fields) {
      const runAfter = fields?.runAfter ?? null
      const lastError = fields?.lastError ?? null
      return write(() => void q.setJobStatus.run(status, runAfter, lastError, jobId))
    },
    // Ended runs, and runs in progress off the jobs running now.
    async listRuns(filter = {}) {
      const where: string[] = []
      const args: string[] = []
      if (filter.functionName) where.push('function_name = ?') && args.push(filter.functionName)
      if (filter.status) where.push('status = ?') && args.push(filter.status)
      const and = where.length ? `AND ${where.join(' AND ')}` : ''
      const sql = `SELECT * FROM (SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY started_at DESC LIMIT ?)
        UNION ALL SELECT * FROM (SELECT ${inProgressColumns} FROM jobs
          WHERE ${runningJobs} AND run_id IS NOT NULL) WHERE 1 ${and}
        ORDER BY started_at DESC LIMIT ?`
      const limit = filter.limit ?? 50
      return db
        .prepare<(string | number)[], RunRow>(sql)
        .all(...args, limit, ...args, limit)
        .map(toRun)
    },
    async getRun(id) {
      const row = q.getRun.get(id) ?? q.getRunInProgress.get(id)
      return row ? toRun(row) : null
    },
  }
}
