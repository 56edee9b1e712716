import { messageOf } from '@pbj/internal/messageOf.js'
import ivm from 'isolated-vm'
import { type HostMethod, hostMethodNames } from '../function/hostMethods.js'
import { RunInputError } from '../internal/errors.js'
import { bootstrapFilename, bootstrapSource } from './bootstrap.js'
import { bundleGlobal } from './bundleFunction.js'
import { createLogBuffer, type LogBuffer } from './createLogBuffer.js'
import { evaluateBundle } from './evaluateBundle.js'
import { FunctionEvalError } from './functionLoadErrors.js'
import type { FunctionBundle } from './loadFunction.js'
import type { HostApi, RunRequest } from './sandboxTypes.js'
import type { Thrown } from './toRunError.js'

/**
 * Host-side state of one run in progress: its request, its host API, its logs, what its ctx calls are doing,
 * and where its envelope goes when the isolate reports the run ended. One object per run, its log buffer,
 * call set and host errors made only when a line, a call or a failure comes: with a block's runs in flight
 * at once, what each run keeps outlives V8's young generation, and most runs log nothing and call nothing.
 */
export type RunState = {
  token: number
  request: RunRequest
  host: HostApi
  /** `performance.now()` past which the watchdog ends the isolate. */
  deadline: number
  logs: LogBuffer | undefined
  pending: Set<Promise<unknown>> | undefined
  hostErrors: unknown[] | undefined
  envelope: Envelope | undefined
  /** The batch's handler, shared by its runs. */
  settle: (state: RunState, envelope: Envelope) => void
}

/** The run's log buffer, made when its first line (or a wait for one) comes. */
export function logsOf(state: RunState): LogBuffer {
  if (!state.logs) state.logs = createLogBuffer()
  return state.logs
}

/** What a run inside the isolate ends with (see bootstrap.ts); `unsendable`: its value could not be copied. */
export type Envelope = (
  | { ok: true; value: unknown }
  | { ok: false; thrown: Thrown }
  | { ok: false; unsendable: string }
) & {
  sent: number
  dropped: number
}

/** One run handed to the isolate: its token (see RunState), entry and input. */
export type BatchItem = { token: number; entry: 'handler' | 'onReorg'; input: unknown }

/** A warm isolate holding one version of one function. */
export type Instance = {
  isolate: ivm.Isolate
  /** Runs in progress by token; the bridge routes ctx calls, log lines and envelopes through it. */
  runs: Map<number, RunState>
  /**
   * Runs `items` side by side in one host→isolate transition; each run's envelope reaches its RunState's
   * `settle` as the run ends. Resolves to the number of runs once all have ended; rejects when the isolate
   * ends first.
   * @throws PbjError when an input cannot be copied: an engine bug, not the function's fault
   */
  call(items: readonly BatchItem[]): Promise<number>
  /**
   * Resolves once the isolate has taken every call handed to it before: its tasks run in order, so a batch
   * whose fence is in has started all its runs, and those not yet ended wait on ctx calls. Rejects only
   * when the isolate ends (or an unhandled rejection lands on it); either way the batch is no longer
   * entering.
   */
  fence(): Promise<unknown>
  /**
   * The runs that had not ended when the isolate ended, by token: counted once, over every batch in flight,
   * so that a run is blamed only when it alone was going (see runInstance).
   */
  lost: Set<number> | undefined
  /** Ends the isolate, whatever it is doing. */
  kill(): void
}

// Declared as returning the count itself: `result.promise` makes apply resolve to it.
type RunFn = (batch: [number, string, unknown][]) => number
type Reply = { ok: true; value: unknown } | { ok: false; message: string; id?: number }

/**
 * Creates an isolate for a bundle: bare context, bootstrap, then the bundle's top-level code (bounded by
 * `timeoutMs`). Host callbacks never hand the isolate anything but copies.
 *
 * @throws FunctionBuildError when the bundle's top-level code throws or has no handler
 * @example
 * const instance = await createInstance(bundle, { memoryMb: 64, timeoutMs: 1000 })
 */
export async function createInstance(
  bundle: FunctionBundle,
  options: { memoryMb: number; timeoutMs: number },
): Promise<Instance> {
  const isolate = new ivm.Isolate({ memoryLimit: options.memoryMb })
  const runs = new Map<number, RunState>()

  // Always resolves: a host function that rejects right away trips Node's unhandled-rejection check
  // before isolated-vm attaches its handler.
  const bridgeOne = async (token: number, method: HostMethod, args: unknown[]): Promise<Reply> => {
    const state = runs.get(token)
    if (!state) return { ok: false, message: `ctx.${method}() was called after the run finished` }
    if (!hostMethodNames.includes(method) || !Array.isArray(args))
      return { ok: false, message: `unknown ctx call ${method}` }
    const call = Promise.resolve().then(() => state.host(method, args))
    if (!state.pending) state.pending = new Set()
    const pending = state.pending
    pending.add(call)
    try {
      return { ok: true, value: await call }
    } catch (error) {
      if (!state.hostErrors) state.hostErrors = []
      return { ok: false, message: messageOf(error), id: state.hostErrors.push(error) - 1 }
    } finally {
      pending.delete(call)
    }
  }
  // The ctx calls an isolate made in one turn, as [token, method, args] triples (see bootstrap.ts): one
  // crossing for them all; the replies come back in their order.
  // The replies are copied here, so a result that cannot enter the isolate fails its own call and never
  // the batch: the isolate re-sends a batch call by call only when its arguments could not be copied, before
  // any host method ran (re-sending after one ran would repeat its effects).
  const bridge = async (calls: [number, HostMethod, unknown[]][]): Promise<ivm.Copy<Reply[]>> => {
    const replies = Array.isArray(calls)
      ? await Promise.all(calls.map(([token, method, args]) => bridgeOne(token, method, args)))
      : []
    try {
      return new ivm.ExternalCopy(replies).copyInto({ release: true })
    } catch {
      return new ivm.ExternalCopy(replies.map((r, i) => sendable(r, calls[i]?.[1]))).copyInto({
        release: true,
      })
    }
  }
  const logSink = (token: number, level: unknown, message: unknown, at: unknown) => {
    const state = runs.get(token)
    if (state) logsOf(state).push(level, message, at)
  }
  // The envelopes of the runs that ended together (see bootstrap.ts), as [token, envelope] pairs.
  const resultSink = (ended: [number, Envelope][]) => {
    for (const [token, envelope] of ended) {
      const state = runs.get(token)
      state?.settle(state, envelope)
    }
  }

  try {
    const context = await isolate.createContext()
    await context.global.set('__pbj_bridge', new ivm.Reference(bridge))
    await context.global.set('__pbj_log', new ivm.Reference(logSink))
    await context.global.set('__pbj_result', new ivm.Reference(resultSink))
    const bootstrap = await isolate.compileScript(bootstrapSource, { filename: bootstrapFilename })
    const attach: ivm.Reference<(globalName: string) => unknown> = await bootstrap.run(context, {
      reference: true,
    })
    // Made before the bundle's code runs, so nothing of it is user code's.
    const fence: ivm.Reference<() => void> = await context.eval('(function fence() {})', {
      reference: true,
    })
    await evaluateBundle(isolate, context, bundle.code, bundle.file, options.timeoutMs)
    const run = (await attach
      .apply(undefined, [bundleGlobal], { result: { reference: true } })
      .catch((error) => {
        throw new FunctionEvalError({ file: bundle.file, problem: 'attach', cause: error })
      })) as ivm.Reference<RunFn>
    return {
      isolate,
      runs,
      lost: undefined,
      fence: async () => fence.apply(undefined, []),
      call(items) {
        // Copied up front (one copy for the whole batch) so an input that cannot be cloned is told apart
        // from a result that cannot.
        let copy: ivm.Copy<unknown>
        try {
          copy = new ivm.ExternalCopy(items.map((i) => [i.token, i.entry, i.input])).copyInto({
            release: true,
          })
        } catch (error) {
          throw new RunInputError({ functionName: bundle.name, cause: error })
        }
        return run.apply(undefined, [copy], { result: { promise: true, copy: true } })
      },
      kill: () => {
        if (!isolate.isDisposed) isolate.dispose()
      },
    }
  } catch (error) {
    if (!isolate.isDisposed) isolate.dispose()
    throw error
  }
}

/** A reply that can enter the isolate: itself, or the failure of a result that cannot be copied. */
function sendable(reply: Reply, method: string | undefined): Reply {
  try {
    new ivm.ExternalCopy(reply).release()
    return reply
  } catch {
    return {
      ok: false,
      message: `ctx.${method}() could not pass its arguments or result through the sandbox; use plain data: strings, numbers, bigints, booleans, arrays, objects`,
    }
  }
}
