import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { retryClassOf } from '../internal/errors.js'

/**
 * How failed runs of a function are retried: the engine's `retry` option with the function's own on top.
 *
 * @example
 * const policy: RetryPolicy = { maxAttempts: 5, backoffMs: 1_000, maxBackoffMs: 30_000, on: 'faults' }
 */
export type RetryPolicy = {
  /** Attempts in all, the first included: the last one that fails makes the job `dead`. */
  maxAttempts: number
  /** The pause after the first failed attempt, before jitter; it doubles with each further one. */
  backoffMs: number
  /** The ceiling the doubling stops at, before jitter. */
  maxBackoffMs: number
  /** `faults`: only the platform's faults are retried (RPC, broker, sandbox crash); `all`: the function's own errors too. */
  on: 'faults' | 'all'
}

/**
 * What to do after a failed attempt: try again after `delayMs`, or stop, as `failed` (an error retrying
 * cannot help) or `dead` (retries exhausted).
 *
 * @example
 * const decision: RetryDecision = { retry: true, delayMs: 1_180 }
 */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; status: 'failed' | 'dead' }

/**
 * Decides whether a failed attempt is tried again, by the error's retry class (see retryClassOf): a
 * `retryable` fault always is, a `user` error only with `on: 'all'`, a `fatal` one never; and not beyond
 * `maxAttempts`. The delay is exponential backoff from `backoffMs` up to `maxBackoffMs`, ±50 % jitter, at
 * least 1 ms. Pure but for the jitter, so the engine's retry rules are tested here rather than through runs.
 *
 * @example
 * const decision = decideRetry({ error, attempt: 2, policy: { ...engineRetry, ...bundle.retry } })
 * if (decision.retry) await store.setJobStatus(id, 'pending', { runAfter: Date.now() + decision.delayMs })
 */
export function decideRetry(params: { error: unknown; attempt: number; policy: RetryPolicy }): RetryDecision {
  const { error, attempt, policy } = params
  const retryClass = retryClassOf(error)
  const retryable = retryClass === 'retryable' || (policy.on === 'all' && retryClass === 'user')
  if (!retryable) return { retry: false, status: 'failed' }
  if (attempt >= policy.maxAttempts) return { retry: false, status: 'dead' }
  const delayMs = backoffDelay(attempt, {
    baseMs: policy.backoffMs,
    maxMs: policy.maxBackoffMs,
    jitter: 'plusMinusHalf',
  })
  return { retry: true, delayMs: Math.max(1, delayMs) }
}
