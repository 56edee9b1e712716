import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { sleep } from '@pbj/internal/sleep.js'
import { ChainConnectError, PbjError, RpcError } from '../internal/errors.js'
import type { Health } from '../internal/health.js'
import type { Logger } from '../internal/logger.js'
import { classifyRpcError } from './classifyRpcError.js'

/** How {@link untilNodeAnswers} waits for a node that is down (at start-up: createChainConnection). */
export type WaitForNode = {
  logger: Pick<Logger, 'info' | 'warn'>
  /** Gets the check `chain`: false with the reason while waiting, true once the node answers. */
  health?: Pick<Health, 'set'> | undefined
  /** Stops the wait (the engine is stopping): the connection fails with the last ChainConnectError. */
  signal?: AbortSignal | undefined
  /** First wait and ceiling of the backoff, in ms (default 250 doubling to 10 000, ±50 % jitter). */
  backoffMs?: { first: number; max: number } | undefined
  /** How often a continuing wait is logged again (default every 30 s; the first failure always is). */
  logEveryMs?: number | undefined
}

/**
 * What `ask` returns once the node answers. With `wait`, a node that gives no answer (refused, timed out,
 * 5xx, rate-limited) is asked again with backoff — a supervisor starting pbj before its node, or a node
 * restarting, is not a reason to exit — while `health` says why the chain is not ready and the log says so
 * at the first failure and every `logEveryMs` after, not at every attempt. A node that answers with an
 * error is refused at once, as `refuse` makes it (default: the error itself), and so is an error that is
 * not the node's (a ConfigError of a check `ask` makes).
 *
 * @example
 * const chainId = await untilNodeAnswers(() => rpc('eth_chainId', []), { urls, wait: { logger, health } })
 */
export async function untilNodeAnswers<T>(
  ask: () => Promise<T>,
  params: { urls: readonly string[]; wait?: WaitForNode | undefined; refuse?: (cause: unknown) => unknown },
): Promise<T> {
  const { urls, wait } = params
  const refuse = params.refuse ?? ((cause: unknown) => cause)
  const startedAt = Date.now()
  let loggedAt = Number.NEGATIVE_INFINITY
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await ask()
      wait?.health?.set('chain', true)
      if (attempt > 1)
        wait?.logger.info('chain reachable', { rpcUrl: urls.join(', '), waitedMs: Date.now() - startedAt })
      return answer
    } catch (cause) {
      const fromNode = !(cause instanceof PbjError) || cause instanceof RpcError
      if (!wait || wait.signal?.aborted || !fromNode || classifyRpcError(cause) === 'answer')
        throw refuse(cause)
      const error = new ChainConnectError({ urls, cause })
      const why = messageOf(cause, { short: true, firstLine: true })
      wait.health?.set('chain', false, `${error.shortMessage}: ${why}`)
      const delay = backoffDelay(attempt, {
        baseMs: wait.backoffMs?.first ?? 250,
        maxMs: wait.backoffMs?.max ?? 10_000,
        jitter: 'plusMinusHalf',
      })
      if (Date.now() - loggedAt >= (wait.logEveryMs ?? 30_000)) {
        loggedAt = Date.now()
        wait.logger.warn(`${error.shortMessage}; waiting for it (${why})`, {
          rpcUrl: urls.join(', '),
          attempt,
          waitedMs: loggedAt - startedAt,
          retryInMs: delay,
        })
      }
      await sleep(delay, wait.signal)
      if (wait.signal?.aborted) throw refuse(cause)
    }
  }
}
