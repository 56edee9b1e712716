import type { Capabilities } from '../capabilities/capabilities.js'
import type { Context } from './context.js'
import type { Trigger, ValidTrigger } from './triggers.js'

/** Per-function limits; the config's `limits` give the defaults. */
export type FunctionLimits = { timeoutMs?: number; memoryMb?: number }

/**
 * How a failed run is retried: with exponential backoff and jitter from `backoffMs` up to `maxBackoffMs`,
 * at most `maxAttempts` runs in all; then the job is dead-lettered (`pbj runs --dead`, `pbj runs retry`).
 * `on: 'faults'` (default) retries only platform faults (RPC or broker away, sandbox crashed); `'all'` also
 * retries the function's own errors (it threw or timed out).
 */
export type RetryPolicy = {
  maxAttempts?: number
  backoffMs?: number
  maxBackoffMs?: number
  on?: 'faults' | 'all'
}

/** The names a function's `capabilities.secrets` declares (`string` when it declares none literally). */
type SecretNames<capabilities extends Capabilities> =
  capabilities['secrets'] extends readonly (infer n extends string)[] ? n : never

/** A handler's ctx, with `ctx.secrets` typed from the declared secret names. */
export type FunctionContext<trigger extends Trigger, capabilities extends Capabilities> = Context<trigger> & {
  secrets: Readonly<Record<SecretNames<capabilities>, string>>
}

/** A pbj function: what wakes it, what it may touch, and what it does. */
export type FunctionDefinition<
  trigger extends Trigger = Trigger,
  capabilities extends Capabilities = Capabilities,
> = {
  trigger: trigger
  /**
   * What it may do besides reading the chain, its own kv and its logs: device actions (and on which
   * devices), contract writes with value caps, secrets. None declared: none granted. See README
   * "Capabilities".
   */
  capabilities?: capabilities
  handler: (ctx: FunctionContext<trigger, capabilities>) => unknown | Promise<unknown>
  /**
   * Runs when the block that caused a run is reorged out after the run started: with `instant`, any reorg
   * of it; with confirmations, only one deeper than them (a run still waiting is dropped instead).
   */
  onReorg?: (ctx: FunctionContext<trigger, capabilities>) => unknown | Promise<unknown>
  limits?: FunctionLimits
  retry?: RetryPolicy
}

/**
 * Declares a function. An identity at run time; its `const` generic carries the ABI's types into `ctx`,
 * so event args are typed without writing them by hand.
 *
 * @example
 * import { defineFunction } from 'pbj'
 * import { carLoanAbi } from '@pbj/contracts'
 *
 * export default defineFunction({
 *   trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid' },
 *   capabilities: { devices: { actions: ['unlock'] }, secrets: ['API_KEY'] },
 *   async handler(ctx) {
 *     ctx.log.info('paid', ctx.event.args.loanId, ctx.event.args.amount, ctx.secrets.API_KEY.length)
 *   },
 * })
 */
export function defineFunction<
  const trigger extends Trigger,
  const capabilities extends Capabilities = Capabilities,
>(
  definition: FunctionDefinition<trigger, capabilities> & { trigger: ValidTrigger<trigger> },
): FunctionDefinition<trigger, capabilities> {
  return definition as FunctionDefinition<trigger, capabilities>
}
