import { PbjError, type RetryClass } from './base.js'
import { RpcError } from './chain.js'

/**
 * `pbj demo` checks every step of the story on the chain and on the car; this is a check that failed (a
 * payment not collected, a car not locked in time). It stops the demo: the figures it would print are
 * not to be trusted.
 */
export class DemoCheckError extends PbjError {
  override name = 'DemoCheckError'
  override readonly retry: RetryClass = 'fatal'
  constructor(what: string, options: { cause?: unknown } = {}) {
    super(`Demo check failed: ${what}`, {
      ...options,
      hint: 'The demo stack misbehaved; run `pbj demo` again, and report it if it fails the same way.',
    })
  }
}

/** The demo contracts could not be deployed to the chain: retryable, as an RpcError. Keeps that name. */
export class DemoDeployError extends RpcError {
  constructor(params: { rpcUrl: string; cause: unknown }) {
    const { cause } = params
    super(`Could not deploy the demo contracts to ${params.rpcUrl}`, {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      hint: 'The demo needs a dev chain (e.g. the embedded Anvil) where its deployer account holds ETH.',
    })
  }
}
