import { PbjError, type RetryClass } from '../../internal/errors.js'

/**
 * A transaction the chain will not take as asked: its gas estimate reverts, or nodes refuse it for good
 * (malformed, gas limit above the block's). The caller's call or arguments are wrong; retrying the same
 * run does not help, so it is a user error, not a platform fault.
 *
 * @example
 * throw new TxRefusedError('ctx.chain.write: the call reverts', { details: 'execution reverted: InvalidReceiver' })
 */
export class TxRefusedError extends PbjError {
  override name = 'TxRefusedError'
  override readonly retry: RetryClass = 'user'
}
