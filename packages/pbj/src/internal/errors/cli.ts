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
