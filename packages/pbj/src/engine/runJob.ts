import { messageOf } from '@pbj/internal/messageOf.js'
import { CommandRefusedError } from '../actions/devices/CommandRefusedError.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Job } from '../core/job.js'
import type { Run } from '../core/run.js'
import type { Store } from '../core/store.js'
import { hostMethods } from '../function/hostMethods.js'
import type { Emitter } from '../internal/createEmitter.js'
import {
  CapabilityError,
  JobNotStartableError,
  KvLimitError,
  PbjError,
  retryClassOf,
} from '../internal/errors.js'
import { now } from '../internal/now.js'
import { timeOrderedUuid } from '../internal/timeOrderedUuid.js'
import type { PaymentMeter, RunCounts } from '../payment/createPaymentMeter.js'
import type { RunInputJson, Sandbox } from '../runtime/createSandbox.js'
import type { FunctionBundle } from '../runtime/loadFunction.js'
import { createHostApi } from './createHostApi.js'
import { decideRetry } from './retryPolicy.js'
import type { Common, HostServices } from './types.js'

/** What runJob uses: the settings (retry, secrets) and metrics, the jobs and runs, the sandbox, the meter. */
export type RunJobServices = {
  common: Pick<Common, 'options' | 'logger' | 'metrics'>
  store: Pick<Store, 'getJob' | 'setJobStatus' | 'startRun' | 'finishRun'>
  sandbox: Pick<Sandbox, 'run'>
  events: Pick<Emitter<EngineEvents>, 'emit'>
  /** Prepaid execution; null when no `payment` is configured. */
  payment: PaymentMeter | null
  /** The functions loaded now (hot reload replaces them). */
  functions: ReadonlyMap<string, FunctionBundle>
  /** What the run's `ctx` calls reach (createHostApi). */
  host: HostServices
}

/** What a function that names no secret gets: one object for all its runs (it is copied into the isolate). */
const noSecrets: Record<string, string> = Object.freeze({}) as Record<string, string>

const secretsOf = (all: Readonly<Record<string, string>>, names: readonly string[]) => {
  if (names.length === 0) return noSecrets
  const out: Record<string, string> = {}
  for (const name of names) if (Object.hasOwn(all, name)) out[name] = all[name] as string
  return out
}

const describeError = (error: unknown): NonNullable<Run['error']> => ({
  name: error instanceof Error ? error.name : 'Error',
  reason: (error as { reason?: string }).reason ?? null,
  message:
    error instanceof PbjError ? error.shortMessage : error instanceof Error ? error.message : String(error),
})

/** A run's start: written once, on its first ctx call (before it runs, with a meter). */
type RunStart = {
  store: RunJobServices['store']
  job: Job
  runId: string
  startedAt: number
  /** The job's attempts as queued plus one, until the store counts it. */
  attempt: number
  /** Written and committed: the job is marked running with this run. */
  started: boolean
  writing: Promise<void> | undefined
}

/** Writes the run's start once; rejects with JobNotStartableError when the job may no longer start. */
function startOnce(this: RunStart): Promise<void> {
  this.writing ??= this.store.startRun(this.job, this.runId, this.startedAt).then((counted) => {
    if (counted === null) throw new JobNotStartableError({ jobId: this.job.id })
    this.attempt = counted
    this.started = true
  })
  return this.writing
}

/**
 * What happens after a failed attempt, by the function's retry policy: a retry time with exponential
 * backoff and jitter; or `failed` (the function's own error, not retried); or `dead` (retries exhausted).
 */
function nextStep(
  defaults: Common['options']['retry'],
  bundle: FunctionBundle,
  error: unknown,
  attempt: number,
) {
  const decision = decideRetry({ error, attempt, policy: { ...defaults, ...bundle.retry } })
  if (!decision.retry) return { status: decision.status, retryAt: null }
  return { status: 'pending' as const, retryAt: Date.now() + decision.delayMs }
}

/**
 * Runs one job in the sandbox and records the run. A failure the queue may retry (the RPC or broker was
 * away during a host call, the sandbox crashed) goes back to `pending` with exponential backoff and jitter;
 * a user error (threw, timed out, out of memory) becomes a failed run with its reason. The store sees one
 * write per run that makes no ctx call (its start and end together) and two for one that does (its start,
 * before the first call; its end): bench/runs/profileRunWrites.ts measures both.
 *
 * @example
 * queue.start((job) => runJob(services, job))
 */
export async function runJob(services: RunJobServices, job: Job): Promise<void> {
  const { store, payment, common } = services
  const bundle = services.functions.get(job.functionName)
  // The job as stored now, when something decides on it before it starts (the meter; a function no longer
  // loaded fails its job unless it ended already). Otherwise startRun's own condition is the check, so the
  // common run reads nothing first.
  if (payment || !bundle) {
    const current = await store.getJob(job.id)
    if (!current || current.status === 'done' || current.status === 'failed') return
    if (!bundle) {
      await store.setJobStatus(job.id, 'failed', {
        lastError: `function '${job.functionName}' is not loaded`,
      })
      return
    }
    // Held, never dropped: the job waits in the store until a deposit covers it (payment/).
    if (payment && !(await payment.admit(current))) return
  }
  const startedAt = now()
  // A UUIDv7: time-ordered (monotonic within a millisecond), so runs are appended to the runs index.
  const runId = timeOrderedUuid()
  // The run's start is written before its first ctx call, not before it runs: only through ctx can a run
  // do anything outside its sandbox, so a run that makes no call is started and ended in one write, and
  // one that does is marked started (reorg compensation, attempt counted against a crash) before any effect.
  // Only a job still pending or running starts (not one done, failed, held, or orphaned by a reorg since it
  // was queued). With a meter, the run is started before it runs, as the meter admitted it.
  const runStart: RunStart = {
    store,
    job,
    runId,
    startedAt,
    attempt: job.attempts + 1,
    started: false,
    writing: undefined,
  }
  // Bound, not a closure: tsx's keepNames would make a named closure cost a defineProperty per run.
  const start = startOnce.bind(runStart)
  if (payment) {
    try {
      await start()
    } catch (error) {
      if (!(error instanceof JobNotStartableError)) throw error
      payment.abandon()
      return
    }
  }
  // The job's JSON goes to the sandbox as is: it is parsed inside the isolate, off this thread.
  const input: RunInputJson = {
    json: job.input,
    run: { id: runId, jobId: job.id, attempt: runStart.attempt, functionName: job.functionName },
    // Only the secrets its capabilities name (checked to exist when it was loaded).
    secrets: secretsOf(common.options.secrets, bundle.capabilities.secrets),
  }
  const host = createHostApi(services.host, job, start)
  // The reads its last run made, answered now: the run finds them inside the sandbox (createHostApi).
  const answers = host.answers()
  if (answers) input.answers = await answers
  // What the meter charges besides time, as the host-method table says: device commands that went out,
  // and writes (their gas). Counted only with a meter.
  const counts: RunCounts | undefined = payment ? { deviceMessages: 0, writes: 0 } : undefined
  const call: typeof host.call = counts
    ? async (method, args) => {
        const { meter } = hostMethods[method]
        if (meter?.when === 'asked') counts[meter.count]++
        const value = await host.call(method, args)
        if (meter?.when === 'served') counts[meter.count]++
        return value
      }
    : host.call
  const result = await services.sandbox.run(job.functionName, input, call, {
    entry: job.entry,
    onRerun: host.restart,
  })
  const endedAt = now()
  // A start still being written (a ctx call made as the run ended) settles first; one refused leaves the
  // run unstarted, and its end below is refused too.
  if (runStart.writing) await runStart.writing.catch(() => undefined)
  const { attempt, started } = runStart

  // A run that failed because a host service was away is the platform's fault, not the user's: retry it.
  const hostFault = host.failures.find((f) => retryClassOf(f) === 'retryable')
  // A command the chain refused, a call the function's capabilities do not grant, a kv write over its
  // limits: kept as such (what was refused and why), not as the generic "failed in ctx.…()" wrapper.
  const cause = result.ok ? undefined : result.error.cause
  const refused =
    cause instanceof CommandRefusedError || cause instanceof CapabilityError || cause instanceof KvLimitError
      ? cause
      : undefined
  const error = result.ok ? null : (hostFault ?? refused ?? result.error)
  const run: Run = {
    id: runId,
    jobId: job.id,
    functionName: job.functionName,
    attempt,
    status: result.ok ? 'ok' : 'failed',
    startedAt,
    endedAt,
    durationMs: endedAt - startedAt,
    logs: result.logs,
    error: error ? describeError(error) : null,
  }
  // The run's record and the job's new state are one write (one commit): a crash before it leaves the job
  // running, so it runs again, and the run it had is recorded then.
  let next: Parameters<typeof store.finishRun>[1]
  if (!error) {
    next = { status: 'done' }
  } else {
    const outcome = nextStep(common.options.retry, bundle, error, attempt)
    const lastError = describeError(error).message
    if (outcome.retryAt !== null)
      common.metrics.increment('pbj_job_retries_total', 1, { function: job.functionName })
    else if (outcome.status === 'dead')
      common.metrics.increment('pbj_dead_letters_total', 1, { function: job.functionName })
    // The retry time is durable: the engine's retry sweep queues it when due, even after a restart.
    next =
      outcome.retryAt !== null
        ? { status: 'pending', runAfter: outcome.retryAt, lastError }
        : { status: outcome.status, lastError }
  }
  // Not recorded when the job may not start (orphaned, ended or held since it was queued): as if never run.
  if (!(await store.finishRun(run, next, started))) {
    payment?.abandon()
    return
  }
  if (payment && counts) {
    // The run happened whatever the meter's fate: a metering fault is a warning, not a failed job.
    await payment.meter(job, run, counts).catch((e) =>
      common.logger.warn(`payment: run ${runId} not metered: ${messageOf(e)}`, {
        functionName: job.functionName,
        runId,
      }),
    )
  }
  common.metrics.increment('pbj_runs_total', 1, { function: job.functionName, status: run.status })
  common.metrics.observe('pbj_run_duration_seconds', (run.durationMs ?? 0) / 1000, {
    function: job.functionName,
  })
  services.events.emit('run', { run, jobId: job.id, blockNumber: job.blockNumber, startedAt })
}
