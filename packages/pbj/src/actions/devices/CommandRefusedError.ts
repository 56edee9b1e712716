import { PbjError, type PbjErrorOptions, type RetryClass } from '../../internal/errors.js'
import type { DeviceAction } from './deviceClass.js'

/**
 * What a refusal knows: the device, the action, the guard that decided (class name), its reason code and
 * the block it read.
 *
 * @example
 * const fields: CommandRefusal = { deviceId: '0xcar…', action: 'lock', guard: 'immobilizer', blockNumber: 42n }
 */
export type CommandRefusal = {
  deviceId: string
  action: DeviceAction
  /** The device class whose guard decided; null when none is configured. */
  guard: string | null
  /** The block the guard read; null when none was read. */
  blockNumber: bigint | null
}

/**
 * A device command the chain does not justify: nothing was stored, signed or sent. `reason` is the code the
 * guard gave (`not-delinquent`, `delinquent`, `no-missed-due-date`…) or one of the platform's:
 * `no-guard` (no device class configured), `not-operator` (the device is not registered in DeviceRegistry
 * with this engine's operator), `guard-failed` (the chain could not be read: retryable).
 *
 * A user-class error (the function asked for something the chain forbids), except when the chain could not
 * be read: then the run is retried, so a paid car is not left locked because an RPC blinked.
 *
 * @example
 * throw new CommandRefusedError('not-delinquent', 'lock of 0xcar… refused: …', { deviceId, action: 'lock', guard: 'immobilizer', blockNumber: 42n })
 */
export class CommandRefusedError extends PbjError {
  override name = 'CommandRefusedError'
  override readonly retry: RetryClass
  readonly reason: string
  readonly deviceId: string
  readonly action: DeviceAction
  readonly guard: string | null
  readonly blockNumber: bigint | null

  constructor(
    reason: string,
    shortMessage: string,
    refusal: CommandRefusal,
    options: PbjErrorOptions & { retry?: RetryClass } = {},
  ) {
    const { retry = 'user', ...rest } = options
    super(shortMessage, {
      ...rest,
      docsPath: rest.docsPath ?? '#trust-model-who-may-do-what',
      meta: { ...rest.meta, ...refusal, reason },
    })
    this.retry = retry
    this.reason = reason
    this.deviceId = refusal.deviceId
    this.action = refusal.action
    this.guard = refusal.guard
    this.blockNumber = refusal.blockNumber
  }
}
