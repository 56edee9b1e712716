import { UsageError } from './base.js'

/** A command was given a subcommand it does not have. */
export class UnknownSubcommandError extends UsageError {
  override name = 'UnknownSubcommandError'
  constructor(params: {
    command: string
    sub: string | undefined
    expected: readonly string[]
    hint: string
  }) {
    const { command, sub, expected, hint } = params
    super(
      sub === undefined
        ? `pbj ${command} needs ${list(expected)}`
        : `Unknown ${command} subcommand '${sub}'; expected ${list(expected)}`,
      { hint, meta: { command, sub } },
    )
  }
}

/** A flag, argument or variable a command needs was not given. */
export class MissingArgumentError extends UsageError {
  override name = 'MissingArgumentError'
  constructor(params: { command: string; needs: string; why?: string; hint?: string }) {
    const { command, needs, why, hint } = params
    super(`pbj ${command} needs ${needs}${why ? `: ${why}` : ''}`, { hint, meta: { command, needs } })
  }
}

/** A flag's value is not what it must be. */
export class InvalidFlagError extends UsageError {
  override name = 'InvalidFlagError'
  constructor(params: { flag: string; value: string | undefined; expected: string; hint?: string }) {
    const { flag, value, expected, hint } = params
    super(`${flag} must be ${expected}${value === undefined ? '' : `, got "${value}"`}`, {
      hint,
      meta: { flag, value },
    })
  }
}

const list = (items: readonly string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`

/**
 * `pbj car`'s broker login is half given, or its username is not the car's id (the broker's ACL keys a
 * device's topics by its username). Keeps the name `UsageError`.
 */
export class CarLoginError extends UsageError {
  constructor(params: { problem: 'half' } | { problem: 'not-the-car'; username: string; deviceId: string }) {
    if (params.problem === 'half')
      super('pbj car needs both --username and PBJ_CAR_PASSWORD, or neither', {
        hint: "On Mosquitto with docs/mosquitto: --username <the car id> and PBJ_CAR_PASSWORD=<its password>. On pbj's embedded broker leave both out: the car logs in with its key.",
      })
    else
      super(`--username ${params.username} is not the car's id ${params.deviceId.toLowerCase()}`, {
        hint: "The broker's ACL gives each device the topics of its username: log in as the car's id.",
      })
  }
}
