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
 * kept, so the run can tell a host fault (retried) from the function's own error.
 *
 * @example
 * const host = createHostApi(services, job)
 * await sandbox.run(job.functionName, input, host.call)
 */
export function createHostApi(services: HostServices, job: Job): { call: HostApi; failures: unknown[] } {
  // Made on the first ctx call: most runs of a busy block make none, and the table of handlers is most of
  // what a run allocates on this thread (bench/runs).
  let handlers: ReturnType<typeof createHostHandlers> | undefined
  const failures: unknown[] = []
  const serve = <method extends HostMethod>(method: method, args: HostArgs<method>) => {
    handlers ??= createHostHandlers(services, job)
    return (handlers[method] as (args: HostArgs<method>) => Promise<unknown>)(args)
  }
  const call: HostApi = async (method, args) => {
    try {
      await checkCapability(services, job, method, args)
      return await serve(method, parseHostArgs(method, args))
    } catch (error) {
      failures.push(error)
      throw error
    }
  }
  return { call, failures }
}
