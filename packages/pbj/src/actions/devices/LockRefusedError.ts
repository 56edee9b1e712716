import { PbjError, type PbjErrorOptions, type RetryClass } from '../../internal/errors.js'

/**
 * Why the pre-lock guard refused a lock:
 * - `loan-current`: the guard's view said the device may not be locked (the loan is current).
 * - `guard-failed`: the guard's view could not be read (it reverted, or the RPC was away).
 * - `no-guard`: no guard is configured, so no lock can be checked.
 */
export type LockRefusalReason = 'loan-current' | 'guard-failed' | 'no-guard'

/**
 * What the refusal knows: the device, the guard it asked, what the guard answered and at which block.
 *
 * @example
 * const fields: LockRefusal = {
 *   deviceId: '0xcar…', guard: { contract: 'CarLoan', functionName: 'isCarDelinquent' }, result: false, blockNumber: 42n,
 * }
 */
export type LockRefusal = {
  deviceId: string
  guard: { contract: string; functionName: string } | null
  /** The guard's answer (`false` for a current loan); undefined when it could not be read. */
  result: unknown
  /** The block the guard read; null when none was read. */
  blockNumber: bigint | null
}

/**
 * A lock the pre-lock guard refused: nothing was stored or sent to the device. A user-class error (the
 * function asked for a lock the chain does not justify, or the guard is misconfigured), except when the
 * guard could not be read because the RPC was away: that one is retryable, and the run is tried again.
 *
 * @example
 * throw new LockRefusedError('loan-current', 'lock of 0xcar… refused: CarLoan.isCarDelinquent is false', {
 *   deviceId: '0xcar…', guard: { contract: 'CarLoan', functionName: 'isCarDelinquent' }, result: false, blockNumber: 42n,
 * })
 */
export class LockRefusedError extends PbjError {
  override name = 'LockRefusedError'
  override readonly retry: RetryClass
  /** Kept with the run as its error's `reason`. */
  readonly reason: LockRefusalReason
  readonly deviceId: string
  readonly guard: LockRefusal['guard']
  readonly result: unknown
  readonly blockNumber: bigint | null

  constructor(
    reason: LockRefusalReason,
    shortMessage: string,
    refusal: LockRefusal,
    options: PbjErrorOptions & { retry?: RetryClass } = {},
  ) {
    const { retry = 'user', ...rest } = options
    super(shortMessage, {
      ...rest,
      docsPath: rest.docsPath ?? '#defense-in-depth-the-pre-lock-guard',
      meta: { ...rest.meta, ...refusal, reason },
    })
    this.retry = retry
    this.reason = reason
    this.deviceId = refusal.deviceId
    this.guard = refusal.guard
    this.result = refusal.result
    this.blockNumber = refusal.blockNumber
  }
}
