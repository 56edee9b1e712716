import { checkCapability } from '../capabilities/checkCapability.js'
import type { Job } from '../core/job.js'
import type { HostArgs, HostMethod } from '../function/hostMethods.js'
import { parseHostArgs } from '../function/parseHostArgs.js'
import { answerKeyOf, argsOfAnswerKey } from '../runtime/answerKeyOf.js'
import type { HostApi } from '../runtime/createSandbox.js'
import { createHostHandlers } from './hostHandlers.js'
import { prefetchKeyOf } from './prefetchKeyOf.js'
import type { HostServices, RecordedCall } from './types.js'

/** A read answered before the run: its arguments' answerKeyOf key and the value the handler gave. */
export type Answer = [key: string, value: unknown]

/**
 * The host side of `ctx`: what a run may do outside its sandbox. Every call first passes the function's
 * `capabilities` (checkCapability): nothing it was not granted is signed or stored. Then its arguments,
 * which come from untrusted code, pass the method's schema in the host-method table (a HostCallError
 * naming the argument and the fix otherwise), and its handler (hostHandlers.ts) serves it. Failures are
 * kept, so the run can tell a host fault (retried) from the function's own error. `beforeCall`, when
 * given, is awaited before each call and fails it when it throws.
 *
 * `answers()` serves, before the run, the `ctx.chain.read` calls the last run of the same key made at its
 * block (services.callMemory), each through the same capability check, schema and handler as a call from
 * the sandbox: the run gets them with its input and a read with exactly those arguments is answered in
 * the isolate, with the value the host would have given (same handler, same job, same block), without a
 * round trip. Only reads, which change nothing; a read that fails is left out, so the run's own call
 * crosses and meets the failure itself.
 *
 * @example
 * const host = createHostApi(services, job)
 * const answers = await host.answers()
 * await sandbox.run(job.functionName, { ...input, ...(answers && { answers }) }, host.call)
 */
export function createHostApi(
  services: HostServices,
  job: Job,
  beforeCall?: () => Promise<void>,
): {
  call: HostApi
  failures: unknown[]
  restart: () => void
  answers: () => Promise<Answer[]> | undefined
} {
  const calls: HostCalls = {
    services,
    job,
    beforeCall,
    handlers: undefined,
    failures: [],
    key: undefined,
  }
  // Bound, not a closure: pbj runs under tsx, whose esbuild `keepNames` gives every named closure a
  // defineProperty call when it is made (0.56 → 0.29 µs per run here, measured in a loop).
  return {
    call: hostCall.bind(calls),
    failures: calls.failures,
    restart: restartCalls.bind(calls),
    answers: answersOf.bind(calls),
  }
}

/**
 * The sandbox runs the run again from its start (RunOptions.onRerun): fresh handlers number its device
 * commands and writes from 0 again, so the calls it repeats get the keys they had and are done once.
 */
function restartCalls(this: HostCalls): void {
  this.handlers = undefined
}

/** One run's host side: its job, the handlers (made on its first ctx call), the failures so far. */
type HostCalls = {
  services: HostServices
  job: Job
  /** Awaited before every call, first thing (runJob: the run's start, written before its first ctx call). */
  beforeCall: (() => Promise<void>) | undefined
  // Made on the first ctx call: most runs of a busy block make none, and the table of handlers is most of
  // what a run allocates on this thread (bench/runs).
  handlers: ReturnType<typeof createHostHandlers> | undefined
  failures: unknown[]
  /** The run's prefetchKeyOf key, worked out when first needed (null: its calls are not remembered). */
  key: string | null | undefined
}

async function hostCall(this: HostCalls, method: HostMethod, args: unknown[]): Promise<unknown> {
  try {
    if (this.beforeCall) await this.beforeCall()
    const value = await serve(this, method, args)
    if (method === 'chain.read') rememberRead(this, args)
    return value
  } catch (error) {
    this.failures.push(error)
    throw error
  }
}

/** A call's capability check, schema and handler: what a call from the sandbox and an answer both go through. */
async function serve(calls: HostCalls, method: HostMethod, args: unknown[]): Promise<unknown> {
  await checkCapability(calls.services, calls.job, method, args)
  const parsed = parseHostArgs(method, args)
  calls.handlers ??= createHostHandlers(calls.services, calls.job)
  return await (calls.handlers[method] as (args: HostArgs<typeof method>) => Promise<unknown>)(parsed)
}

/** The run's key in the call memory, or null when its reads are not remembered. */
function callKeyOf(calls: HostCalls): string | null {
  if (!calls.services.callMemory) return null
  if (calls.key === undefined) calls.key = prefetchKeyOf(calls.job)
  return calls.key
}

/**
 * Remembers a read the run made at its own block (no `blockNumber`: a read at `latest` changes from one
 * moment to the next, so only one at the block can be answered ahead), for the next run of its key.
 */
function rememberRead(calls: HostCalls, args: unknown[]): void {
  const params = args[0] as { blockNumber?: unknown } | undefined
  if (params?.blockNumber !== undefined) return
  const runKey = callKeyOf(calls)
  if (runKey === null) return
  const key = answerKeyOf(args)
  if (key !== null) calls.services.callMemory?.record(runKey, calls.job.id, { key })
}

/**
 * The answers to the reads the last run of this key made (see createHostApi), or nothing to wait for when
 * it made none. Such a run will most likely call the host again (a command): its start (`beforeCall`) is
 * written meanwhile, so that call does not wait for it; an effect still waits until it is written.
 */
function answersOf(this: HostCalls): Promise<Answer[]> | undefined {
  const runKey = callKeyOf(this)
  if (runKey === null) return undefined
  const recorded = this.services.callMemory?.recall(runKey) ?? []
  if (recorded.length === 0) return undefined
  // A refused start fails the run's first call to the host, which awaits this same write.
  this.beforeCall?.().catch(() => {})
  return Promise.all(recorded.map((call) => answerOne(this, runKey, call))).then((answers) =>
    answers.filter((a) => a !== null),
  )
}

async function answerOne(calls: HostCalls, runKey: string, call: RecordedCall): Promise<Answer | null> {
  try {
    const value = await serve(calls, 'chain.read', argsOfAnswerKey(call.key))
    // Remembered for the next run as this run's own read: it answers it in the isolate, unseen here.
    calls.services.callMemory?.record(runKey, calls.job.id, call)
    return [call.key, value]
  } catch {
    return null
  }
}
