import {
  type FunctionRunError,
  PbjError,
  type SandboxCrashedError,
  SandboxLostError,
} from '../internal/errors.js'
import { type Envelope, type Instance, logsOf, type RunState } from './createInstance.js'
import { createLogBuffer } from './createLogBuffer.js'
import type { RunRequest } from './sandboxTypes.js'
import { failureToError, thrownToError } from './toRunError.js'

/** A function failure, before logs and duration are added. */
export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; error: FunctionRunError | SandboxCrashedError }

// Tokens tie ctx calls, log lines and envelopes to their run; a stale ctx kept by user code finds no run.
let nextToken = 1

/**
 * How long a batch that ended normally waits for envelopes still on their way: they travel apart from
 * the batch's own result, and always arrive unless the isolate is disposed in between.
 */
const lateEnvelopeMs = 1_000

/** Waits for ctx calls the handler did not await, so none outlives its run; warns in the run's logs. */
async function settlePending(state: RunState, waitMs: number): Promise<void> {
  const { pending } = state
  if (!pending || pending.size === 0) return
  const count = pending.size
  let timer: NodeJS.Timeout | undefined
  const waited = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(waitMs, 0))
  })
  await Promise.race([Promise.allSettled([...pending]), waited])
  clearTimeout(timer)
  const message = `${count} ctx call(s) were still running when the handler returned; await every ctx call`
  logsOf(state).push('warn', message, Date.now())
}

const outcomeOf = (request: RunRequest, envelope: Envelope, state: RunState): Outcome => {
  if (envelope.ok) return { ok: true, value: envelope.value }
  if ('unsendable' in envelope) {
    const failure = { timedOut: false, disposed: false, timeoutMs: request.timeoutMs, memoryMb: 0 }
    return { ok: false, error: failureToError(request.name, new Error(envelope.unsendable), failure) }
  }
  return {
    ok: false,
    error: thrownToError(request.name, envelope.thrown, request.mapStack, state.hostErrors ?? []),
  }
}

/** The tokens of the runs of an ended instance that had not ended, whichever batch they came in. */
function lostRuns(instance: Instance): Set<number> {
  const lost = new Set<number>()
  for (const [token, run] of instance.runs) if (!run.envelope) lost.add(token)
  return lost
}

/**
 * Runs a batch of runs of one function side by side in its instance, in a single host→isolate
 * transition, under a host-side watchdog that times each run: past its `timeoutMs` the isolate is
 * disposed, which ends synchronous loops and never-settling promises alike. Each request's result is
 * delivered as soon as its run ends. `onEntered` is told once the isolate has started the batch's runs
 * (or can no longer): the caller may then hand the isolate its next batch, while these wait on ctx calls.
 * When the isolate ends with one run unfinished, over every batch in it, that run fails (timeout, memory,
 * crash); with several unfinished, which of them did it cannot be told, so they are returned, marked
 * `solo`, for the caller to run again one at a time in a fresh instance, alone in it (runs are idempotent:
 * a crash retries them anyway). The caller replaces an instance whose isolate is disposed.
 *
 * @example
 * const again = await runInstance(instance, [{ name: 'lockCar', entry: 'handler', input, host, …, resolve, reject }], letNextIn)
 */
export async function runInstance(
  instance: Instance,
  requests: readonly RunRequest[],
  onEntered: () => void = () => undefined,
): Promise<RunRequest[]> {
  const batchStarted = performance.now()
  const runs = requests.map((request): RunState => {
    request.started = Math.max(request.started, batchStarted)
    return {
      token: nextToken++,
      request,
      host: request.host,
      deadline: request.started + request.timeoutMs,
      logs: undefined,
      pending: undefined,
      hostErrors: undefined,
      envelope: undefined,
      settle,
    }
  })
  // Most runs log nothing: no buffer is made for them (see RunState).
  const linesOf = (state: RunState, dropped: number) =>
    state.logs ? state.logs.finish(dropped) : dropped > 0 ? createLogBuffer().finish(dropped) : []
  const end = (state: RunState, outcome: Outcome, lines = linesOf(state, 0)) => {
    const { request } = state
    request.resolve({ ...outcome, logs: lines, durationMs: performance.now() - request.started })
  }

  let received = 0
  let timedOut = false
  // One timer for the batch, at the earliest deadline of a run still going (a timer per run costs more
  // than a fast run).
  let watchdog: NodeJS.Timeout | undefined
  let watchdogDue = Number.POSITIVE_INFINITY
  const arm = () => {
    let deadline = Number.POSITIVE_INFINITY
    for (const run of runs) if (!run.envelope && run.deadline < deadline) deadline = run.deadline
    if (deadline === watchdogDue) return
    clearTimeout(watchdog)
    watchdogDue = deadline
    if (!Number.isFinite(deadline)) return
    watchdog = setTimeout(
      () => {
        watchdogDue = Number.POSITIVE_INFINITY
        if (performance.now() >= deadline) {
          timedOut = true
          instance.kill()
        } else arm()
      },
      Math.max(0, deadline - performance.now()),
    )
  }
  const finishing: Promise<void>[] = []
  let onProgress: (() => void) | undefined
  /** Waits (at most lateEnvelopeMs) until every run's envelope is in. */
  const allEnvelopesIn = () =>
    received >= runs.length
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, lateEnvelopeMs)
          onProgress = () => {
            if (received < runs.length) return
            clearTimeout(timer)
            resolve()
          }
        })
  const finish = (state: RunState, envelope: Envelope) => {
    instance.runs.delete(state.token)
    end(state, outcomeOf(state.request, envelope, state), linesOf(state, envelope.dropped))
  }
  /** The batch's one handler of envelopes (RunState.settle): no closure per run. */
  function settle(state: RunState, envelope: Envelope) {
    if (state.envelope) return
    state.envelope = envelope
    received++
    onProgress?.()
    if (state.deadline === watchdogDue) arm()
    // The common case, every log line in and no ctx call left running, ends the run at once.
    const { logs, pending } = state
    if ((logs?.received() ?? 0) >= envelope.sent && (pending?.size ?? 0) === 0) return finish(state, envelope)
    finishing.push(
      (async () => {
        try {
          await logsOf(state).waitFor(envelope.sent)
          await settlePending(state, state.request.timeoutMs - (performance.now() - state.request.started))
        } finally {
          finish(state, envelope)
        }
      })(),
    )
  }
  for (const run of runs) instance.runs.set(run.token, run)

  arm()
  const again: RunRequest[] = []
  try {
    const items = runs.map((r) => ({ token: r.token, entry: r.request.entry, input: r.request.input }))
    const ended = instance.call(items)
    instance.fence().then(onEntered, onEntered)
    await ended
    clearTimeout(watchdog)
    // The envelopes travel apart from the batch's end: wait for the ones still on their way.
    await allEnvelopesIn()
    for (const run of runs) {
      if (run.envelope) continue
      const error = new SandboxLostError({ problem: 'result-lost', functionName: run.request.name })
      end(run, { ok: false, error })
      instance.runs.delete(run.token)
    }
  } catch (error) {
    clearTimeout(watchdog)
    if (error instanceof PbjError && !instance.isolate.isDisposed) {
      for (const run of runs) instance.runs.delete(run.token)
      if (runs.length === 1) runs[0]?.request.reject(error)
      // One input cannot be copied: run each alone, so only that run's caller gets the error.
      else
        for (const r of runs) {
          r.request.onRerun?.()
          again.push({ ...r.request, solo: true })
        }
      return again
    }
    // Envelopes sent before the isolate ended may still be queued for this thread: let them in first, so
    // only runs that really were unfinished are blamed or run again.
    await new Promise((resolve) => setImmediate(resolve))
    const disposed = instance.isolate.isDisposed
    const unfinished = runs.filter((run) => !run.envelope)
    const only = unfinished.length === 1 ? unfinished[0] : undefined
    // Batches overlap in an instance: when it ended, its runs not ended are counted once, over every batch,
    // by the first batch to get here; a run is to blame only when it alone was going.
    if (disposed) instance.lost ??= lostRuns(instance)
    const { lost } = instance
    const culprit = only && (!lost || (lost.size === 1 && lost.has(only.token))) ? only : undefined
    if (culprit) {
      const failure = {
        timedOut,
        disposed,
        timeoutMs: culprit.request.timeoutMs,
        memoryMb: culprit.request.memoryMb,
      }
      end(culprit, {
        ok: false,
        error: failureToError(culprit.request.name, error, failure),
      })
      instance.runs.delete(culprit.token)
    } else {
      // Several were going when the isolate ended: each runs again alone, where a culprit is its own.
      for (const run of unfinished) {
        instance.runs.delete(run.token)
        // It may have made ctx calls already: the host numbers its calls from the start again, so the
        // same calls get the same effect keys and are not made twice.
        run.request.onRerun?.()
        again.push({ ...run.request, solo: true, started: performance.now() })
      }
    }
  }
  await Promise.all(finishing)
  return again
}
