import { checkCapability } from '../capabilities/checkCapability.js'
import type { Job } from '../core/job.js'
import type { HostArgs, HostMethod } from '../function/hostMethods.js'
import { parseHostArgs } from '../function/parseHostArgs.js'
import type { HostApi } from '../runtime/createSandbox.js'
import { createHostHandlers } from './hostHandlers.js'
import type { HostServices } from './types.js'

/**
 * The host side of `ctx`: what a run may do outside its sandbox. Every call first passes the function's
 * `capabilities` (checkCapability): nothing it was not granted is signed or stored. Then its arguments,
 * which come from untrusted code, pass the method's schema in the host-method table (a HostCallError
 * naming the argument and the fix otherwise), and its handler (hostHandlers.ts) serves it. Failures are
 * kept, so the run can tell a host fault (retried) from the function's own error. `beforeCall`, when
 * given, is awaited before each call and fails it when it throws.
 *
 * @example
 * const host = createHostApi(services, job)
 * await sandbox.run(job.functionName, input, host.call)
 */
export function createHostApi(
  services: HostServices,
  job: Job,
  beforeCall?: () => Promise<void>,
): { call: HostApi; failures: unknown[]; restart: () => void } {
  const calls: HostCalls = { services, job, beforeCall, handlers: undefined, failures: [] }
  // Bound, not a closure: pbj runs under tsx, whose esbuild `keepNames` gives every named closure a
  // defineProperty call when it is made (0.56 → 0.29 µs per run here, measured in a loop).
  return { call: hostCall.bind(calls), failures: calls.failures, restart: restartCalls.bind(calls) }
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
}

async function hostCall(this: HostCalls, method: HostMethod, args: unknown[]): Promise<unknown> {
  try {
    if (this.beforeCall) await this.beforeCall()
    await checkCapability(this.services, this.job, method, args)
    const parsed = parseHostArgs(method, args)
    this.handlers ??= createHostHandlers(this.services, this.job)
    return await (this.handlers[method] as (args: HostArgs<typeof method>) => Promise<unknown>)(parsed)
  } catch (error) {
    this.failures.push(error)
    throw error
  }
}
