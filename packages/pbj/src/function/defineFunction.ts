import type { Context } from './ctx.js'
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

/** A pbj function: what wakes it, and what it does. */
export type FunctionDefinition<trigger extends Trigger = Trigger> = {
  trigger: trigger
  handler: (ctx: Context<trigger>) => unknown | Promise<unknown>
  /** Runs when the block that caused a run is reorged out (confirmation `instant`). */
  onReorg?: (ctx: Context<trigger>) => unknown | Promise<unknown>
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
 *   async handler(ctx) {
 *     ctx.log.info('paid', ctx.event.args.loanId, ctx.event.args.amount)
 *   },
 * })
 */
export function defineFunction<const trigger extends Trigger>(
  definition: FunctionDefinition<trigger> & { trigger: ValidTrigger<trigger> },
): FunctionDefinition<trigger> {
  return definition as FunctionDefinition<trigger>
}
