import { PbjError, type RetryClass } from './base.js'

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
