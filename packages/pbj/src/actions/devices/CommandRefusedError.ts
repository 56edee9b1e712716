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

// The refusals guardCommand makes, one class each. They keep the name `CommandRefusedError` (logs and run
// records carry it) and its retry rule: user, except a chain the guard could not read.

/** No device class is configured, so no command can be checked against the chain. */
export class NoGuardError extends CommandRefusedError {
  constructor(params: { deviceId: string; action: DeviceAction }) {
    const { deviceId, action } = params
    super(
      'no-guard',
      `${action} of ${deviceId} refused: no device class is configured, so the command cannot be checked against the chain`,
      { deviceId, action, guard: null, blockNumber: null },
      {
        hint: "Set deviceClass in pbj.config.ts, e.g. deviceClass: immobilizerClass({ contract: 'CarLoan' }) (import { immobilizerClass } from 'pbj').",
      },
    )
  }
}

/** The device is not registered in DeviceRegistry with this engine's operator. */
export class NotOperatorError extends CommandRefusedError {
  constructor(params: CommandRefusal & { blockNumber: bigint; operator: string }) {
    const { deviceId, action, guard, blockNumber, operator } = params
    super(
      'not-operator',
      `${action} of ${deviceId} refused: the device is not registered in DeviceRegistry with this engine's operator ${operator} (block ${blockNumber})`,
      { deviceId, action, guard, blockNumber },
      {
        hint: "Commands go only to registered devices whose owner added pbj's operator (DeviceRegistry.addOperator). Check the device id the function passed.",
      },
    )
  }
}

/**
 * The guard could not read the chain. A revert (`answered`) is the guard or the config wrong: a user
 * error. Anything else is the RPC away: retryable, so a paid car is not left locked because an RPC blinked.
 */
export class GuardFailedError extends CommandRefusedError {
  constructor(
    params: CommandRefusal & { guard: string; answered: boolean; message: string; cause: unknown },
  ) {
    const { deviceId, action, guard, blockNumber, answered } = params
    super(
      'guard-failed',
      `${action} of ${deviceId} refused: the ${guard} guard could not read the chain${blockNumber === null ? '' : ` at block ${blockNumber}`}: ${params.message}`,
      { deviceId, action, guard, blockNumber },
      {
        cause: params.cause,
        retry: answered ? 'user' : 'retryable',
        hint: answered
          ? `Check that the contracts the ${guard} class reads are deployed at the addresses in pbj.config.ts.`
          : 'Check that the RPC is reachable; the run is retried.',
      },
    )
  }
}

/** The device class's guard read the chain and said no; `reason`, `message` and `hint` are its verdict's. */
export class GuardRefusedError extends CommandRefusedError {
  constructor(
    params: CommandRefusal & {
      blockNumber: bigint
      reason: string
      message: string
      hint?: string | undefined
    },
  ) {
    const { deviceId, action, guard, blockNumber } = params
    super(
      params.reason,
      `${action} of ${deviceId} refused by the ${guard} guard at block ${blockNumber}: ${params.message}`,
      { deviceId, action, guard, blockNumber },
      params.hint === undefined ? {} : { hint: params.hint },
    )
  }
}
