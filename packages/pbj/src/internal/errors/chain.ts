import { PbjError, type RetryClass } from './base.js'

/** The chain's RPC failed or timed out. */
export class RpcError extends PbjError {
  override name = 'RpcError'
  override readonly retry: RetryClass = 'retryable'
}
