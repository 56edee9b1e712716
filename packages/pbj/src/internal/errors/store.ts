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
