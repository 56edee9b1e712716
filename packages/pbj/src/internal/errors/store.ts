import { PbjError, type RetryClass } from './base.js'

/** A command that reads the engine's SQLite file found none: the engine has not run in this folder. */
export class NoDatabaseError extends PbjError {
  override name = 'NoDatabaseError'
  override readonly retry: RetryClass = 'user'
  constructor(params: { database: string }) {
    super(`No pbj database at ${params.database}`, {
      hint: 'Run `pbj dev` or `pbj start` in this folder first, or set database in pbj.config.ts.',
      meta: { database: params.database },
    })
  }
}

/** `pbj runs retry` was given an id that is neither a job's nor a run's. */
export class UnknownJobError extends PbjError {
  override name = 'UnknownJobError'
  override readonly retry: RetryClass = 'user'
  constructor(params: { id: string }) {
    super(`No job or run with id ${params.id}`, {
      hint: 'Find one with `pbj runs --dead`.',
      meta: { id: params.id },
    })
  }
}

/** Only a failed or dead job can be queued again; this one is pending, running, held or done. */
export class JobNotRetryableError extends PbjError {
  override name = 'JobNotRetryableError'
  override readonly retry: RetryClass = 'user'
  constructor(params: { jobId: string; status: string }) {
    super(`Job ${params.jobId} is ${params.status}; only failed or dead jobs can be retried`, {
      meta: { jobId: params.jobId, status: params.status },
    })
  }
}

/**
 * A run's job may no longer start (a reorg orphaned it, or it ended, or it is held) when the run makes its
 * first ctx call: the call is refused, so nothing the run does is seen outside its sandbox, and the run is
 * not recorded.
 */
export class JobNotStartableError extends PbjError {
  override name = 'JobNotStartableError'
  override readonly retry: RetryClass = 'user'
  constructor(params: { jobId: string }) {
    super(
      `Job ${params.jobId} may no longer start (orphaned by a reorg, ended or held); its ctx call was refused`,
      {
        meta: { jobId: params.jobId },
      },
    )
  }
}

/**
 * The family of a store pbj refuses to open: locked by another engine, damaged, its write-ahead log gone,
 * written by a newer pbj. Starting anyway would lose or corrupt state, so the engine stops instead; a
 * supervisor reads the family (exit code 4), an operator the message.
 */
export class StoreRefusedError extends PbjError {
  override name = 'StoreRefusedError'
  override readonly retry: RetryClass = 'fatal'
}

/**
 * Another engine holds the store: two engines on one database would both process every block and command
 * every device twice. The lock is an OS file lock, so it goes when its holder dies, however it dies.
 */
export class StoreLockedError extends StoreRefusedError {
  override name = 'StoreLockedError'
  constructor(params: { database: string; lockFile: string; pid: number | null }) {
    const by = params.pid === null ? 'another engine' : `another engine (pid ${params.pid})`
    super(`database ${params.database} is in use by ${by}`, {
      details: `The lock ${params.lockFile} is held; one engine runs per database.`,
      hint: 'Stop the other engine, or point this one at another database (database in pbj.config.ts).',
      meta: { ...params },
    })
  }
}

/**
 * The database failed SQLite's integrity check at open (a damaged page, a broken index): reading on would
 * process blocks against state that is not what pbj wrote.
 */
export class DatabaseCorruptError extends StoreRefusedError {
  override name = 'DatabaseCorruptError'
  constructor(params: { database: string; problem: string; cause?: unknown }) {
    super(`database ${params.database} is damaged: ${params.problem}`, {
      details: 'PRAGMA quick_check failed at open, so pbj does not start on it.',
      hint: `Restore it from a backup (docs/operations.md#back-up-and-restore), or move ${params.database} aside (with its -wal and -shm files) to start afresh from the chain.`,
      meta: { database: params.database, problem: params.problem },
      cause: params.cause,
    })
  }
}

/**
 * The database's write-ahead log is gone while its shared-memory index still counts frames that were never
 * copied into the database (the `-wal` file was deleted after an unclean stop). SQLite would open the file
 * without a word, create an empty log and lose those newest transactions, so pbj refuses first.
 */
export class WalMissingError extends StoreRefusedError {
  override name = 'WalMissingError'
  constructor(params: { database: string; frames: number }) {
    super(`database ${params.database} has lost its write-ahead log (${params.database}-wal)`, {
      details: `Its index (${params.database}-shm) says ${params.frames} log frame(s) were not yet copied into the database: the newest transactions are gone.`,
      hint: `Put the -wal file back if you have it; otherwise restore from a backup (docs/operations.md#back-up-and-restore), or move ${params.database} and its -shm file aside to start afresh from the chain.`,
      meta: { ...params },
    })
  }
}

/**
 * A write to the store failed because its filesystem is full. Not a refusal: the engine stays up, reports
 * itself unready, stops taking blocks and resumes when space returns, so nothing is lost or done twice.
 */
export class DiskFullError extends PbjError {
  override name = 'DiskFullError'
  override readonly retry: RetryClass = 'retryable'
  constructor(params: { dir: string; cause?: unknown }) {
    super(`disk full: the store cannot write in ${params.dir}`, {
      hint: `Free space at ${params.dir}; pbj resumes by itself once it can write again.`,
      meta: { dir: params.dir },
      cause: params.cause,
    })
  }
}
