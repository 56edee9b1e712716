import { type FunctionRunError, PbjError, type SandboxCrashedError } from '../internal/errors.js'
import type { Instance, RunState } from './createInstance.js'
import { createLogBuffer } from './createLogBuffer.js'
import type { HostApi, RunInput, RunResult } from './sandboxTypes.js'
import { failureToError, thrownToError } from './toRunError.js'

/** One run of a function in a warm instance. */
export type RunRequest = {
  name: string
  entry: 'handler' | 'onReorg'
  input: RunInput
  host: HostApi
  timeoutMs: number
  memoryMb: number
  mapStack: (stack: string) => string
  /** `performance.now()` when the run was asked for; durationMs counts from it. */
  started: number
}

/** A function failure, before logs and duration are added. */
export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; error: FunctionRunError | SandboxCrashedError }

// Tokens tie ctx calls and log lines to their run; a stale ctx kept by user code finds no run.
let nextToken = 1

/** Waits for ctx calls the handler did not await, so none outlives its run; warns in the run's logs. */
async function settlePending(state: RunState, waitMs: number): Promise<void> {
  if (state.pending.size === 0) return
  const count = state.pending.size
  let timer: NodeJS.Timeout | undefined
  const waited = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(waitMs, 0))
  })
  await Promise.race([Promise.allSettled([...state.pending]), waited])
  clearTimeout(timer)
  const message = `${count} ctx call(s) were still running when the handler returned; await every ctx call`
  state.logs.push('warn', message, Date.now())
}

/**
 * Runs a function in its instance under a host-side watchdog: past `timeoutMs` the isolate is disposed,
 * which ends synchronous loops and never-settling promises alike. Never rejects for the function's
 * faults; the caller replaces an instance whose isolate is disposed afterwards.
 *
 * @throws PbjError when the input cannot be copied into the sandbox (an engine bug)
 * @example
 * const result = await runInstance(instance, { name: 'lockCar', entry: 'handler', input, host, … })
 */
export async function runInstance(instance: Instance, request: RunRequest): Promise<RunResult> {
  const { name, timeoutMs } = request
  const logs = createLogBuffer()
  const end = (outcome: Outcome, lines = logs.finish(0)): RunResult => ({
    ...outcome,
    logs: lines,
    durationMs: performance.now() - request.started,
  })
  const token = nextToken++
  const state: RunState = { host: request.host, logs, pending: new Set(), hostErrors: [] }
  instance.runs.set(token, state)
  let timedOut = false
  const watchdog = setTimeout(() => {
    timedOut = true
    instance.kill()
  }, timeoutMs)
  try {
    const envelope = await instance.call(token, request.entry, request.input)
    clearTimeout(watchdog)
    await logs.waitFor(envelope.sent)
    await settlePending(state, timeoutMs - (performance.now() - request.started))
    const lines = logs.finish(envelope.dropped)
    if (envelope.ok) return end({ ok: true, value: envelope.value }, lines)
    return end(
      { ok: false, error: thrownToError(name, envelope.thrown, request.mapStack, state.hostErrors) },
      lines,
    )
  } catch (error) {
    if (error instanceof PbjError) throw error
    const failure = { timedOut, disposed: instance.isolate.isDisposed, timeoutMs, memoryMb: request.memoryMb }
    return end({ ok: false, error: failureToError(name, error, failure) })
  } finally {
    clearTimeout(watchdog)
    instance.runs.delete(token)
  }
}
