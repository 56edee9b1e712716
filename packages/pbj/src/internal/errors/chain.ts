import { PbjError, type RetryClass } from './base.js'

/** The chain's RPC failed or timed out. */
export class RpcError extends PbjError {
  override name = 'RpcError'
  override readonly retry: RetryClass = 'retryable'
}

/** A transaction pbj sent was mined but reverted. */
export class TransactionRevertedError extends PbjError {
  override name = 'TransactionRevertedError'
  constructor(params: { hash: string; what?: string; hint?: string }) {
    const { hash, what = 'Transaction', hint } = params
    super(`${what} ${hash} reverted`, { hint, meta: { hash } })
  }
}

/** A chain the command talks to could not be reached or read. */
export class ChainUnreachableError extends RpcError {
  override name = 'ChainUnreachableError'
  constructor(params: { rpcUrl: string; what: string; cause: unknown; hint?: string }) {
    const { rpcUrl, what, cause, hint } = params
    super(`cannot read ${what} from ${rpcUrl}`, { cause, hint, meta: { rpcUrl } })
  }
}
