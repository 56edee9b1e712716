import { PbjError, type PbjErrorOptions, type RetryClass } from './base.js'

/** The configuration is invalid. Names the field, what is wrong, and the fix. */
export class ConfigError extends PbjError {
  override name = 'ConfigError'
  override readonly retry: RetryClass = 'user'
}

/**
 * A name that should be a key of the config's `contracts` is not one. One class for every place that
 * resolves a contract by name (triggers, capabilities, payment, device classes), so the message and the
 * fix read the same everywhere.
 *
 * @example
 * throw new UnknownContractError({ name: 'Loan', where: "Function 'lock': trigger.contract", known: ['CarLoan'] })
 */
export class UnknownContractError extends ConfigError {
  override name = 'UnknownContractError'
  constructor(params: {
    /** The name that was asked for. */
    name: string
    /** Where it was written, e.g. `Function 'lock': trigger.contract`. */
    where: string
    /** The names the config knows. */
    known: readonly string[]
    /** What to do instead of adding the contract; defaults to using its address. */
    orElse?: string
    meta?: Record<string, unknown>
  }) {
    const { name, where, known, orElse = "use the contract's address" } = params
    super(`${where} '${name}' is not a known contract`, {
      details: `Known contracts: ${known.length ? known.join(', ') : '(none)'}`,
      hint: `Add ${name}: { address: '0x…' } under contracts in pbj.config.ts, or ${orElse}.`,
      meta: { contract: name, ...params.meta },
    })
  }
}

/** A field a command needs is not set in the config. */
export class MissingConfigError extends ConfigError {
  override name = 'MissingConfigError'
  constructor(params: { field: string; message: string; hint?: string; meta?: Record<string, unknown> }) {
    super(params.message, { hint: params.hint, meta: { field: params.field, ...params.meta } })
  }
}

/** A config file could not be read or evaluated: bad JSON, a syntax error, or no default export. */
export class ConfigFileError extends ConfigError {
  override name = 'ConfigFileError'
  constructor(
    params:
      | { file: string; problem: 'json'; cause: unknown }
      | { file: string; problem: 'syntax'; at: string; text: string; cause: unknown }
      | { file: string; problem: 'no-default-export' },
  ) {
    super(...configFileFailure(params))
  }
}

function configFileFailure(
  params: ConstructorParameters<typeof ConfigFileError>[0],
): [string, PbjErrorOptions] {
  const { file } = params
  switch (params.problem) {
    case 'json':
      return [
        `${file} is not valid JSON`,
        { cause: params.cause, details: String(params.cause), hint: 'Fix the JSON syntax.', meta: { file } },
      ]
    case 'syntax':
      return [
        `${file}${params.at}: ${params.text}`,
        { cause: params.cause, hint: 'Fix the syntax error.', meta: { file } },
      ]
    case 'no-default-export':
      return [
        `${file} has no default export`,
        {
          hint: "Write `export default defineConfig({ … })` with `import { defineConfig } from 'pbj'`.",
          meta: { file },
        },
      ]
  }
}

/**
 * A config object does not validate. `problems` are the issues as `field: what; got value` lines, first
 * one first; `fixes` the hints of the fields involved. Keeps the name `ConfigError`.
 */
export class InvalidConfigError extends ConfigError {
  constructor(params: {
    source: string
    problems: readonly string[]
    /** The first issue's field path. */
    field: string
    fixes: readonly string[]
    knownFields: readonly string[]
  }) {
    const { problems } = params
    super(`Invalid config in ${params.source}: ${problems[0]}`, {
      details: problems.length > 1 ? problems.map((p) => `- ${p}`).join('\n') : undefined,
      hint:
        params.fixes.join(' ') ||
        `Known fields: ${params.knownFields.join(', ')}. Remove or rename the field.`,
      docsPath: '#config-reference',
      meta: { field: params.field },
    })
  }
}

/** `payment.projectId` is not the id `payment.owner` and `payment.salt` derive. Keeps the name `ConfigError`. */
export class PaymentProjectMismatchError extends ConfigError {
  constructor(params: { projectId: string; owner: string; salt: string; derived: string }) {
    super(`payment.projectId ${params.projectId} is not the project of payment.owner and payment.salt`, {
      details: `ExecutionBalance.projectIdOf(${params.owner}, ${params.salt}) = ${params.derived}`,
      hint: 'Give either projectId, or owner and salt; a project id is bound to its owner.',
    })
  }
}

/** `operatorKey` is set but is not a private key. Keeps the name `ConfigError`. */
export class InvalidOperatorKeyError extends ConfigError {
  constructor(params: { cause: unknown }) {
    super('operatorKey is not a private key', {
      cause: params.cause,
      meta: { field: 'operatorKey' },
      hint: 'Set operatorKey to the engine key as 0x followed by 64 hex digits.',
    })
  }
}

/**
 * Device commands cannot be signed: no `operatorKey`, or no `contracts.DeviceRegistry` for their EIP-712
 * domain. Keeps the name `ConfigError`.
 */
export class NoCommandSignerError extends ConfigError {
  constructor(params: { missing: 'operatorKey' | 'contracts.DeviceRegistry' }) {
    const { missing } = params
    super(`cannot sign device commands: no ${missing} is configured`, {
      meta: { field: missing },
      hint:
        missing === 'contracts.DeviceRegistry'
          ? 'Add the DeviceRegistry your cars trust to contracts, e.g. contracts: { DeviceRegistry: { address: "0x…" } }.'
          : 'Set operatorKey to a key the cars\u2019 owners added as operator in DeviceRegistry (0x + 64 hex digits).',
    })
  }
}

/**
 * `pbj deposit` for a project not opened on ExecutionBalance, without the owner and salt that would open
 * it. Keeps the name `ConfigError`.
 */
export class ProjectNotOpenedError extends ConfigError {
  constructor(params: { projectId: string }) {
    super(`project ${params.projectId} is not opened on ExecutionBalance`, {
      meta: { field: 'payment' },
      hint: `Set payment: { owner: '<your address>', salt: '<a name>' } in pbj.config.ts and run pbj deposit with that owner's key: it opens the project (ExecutionBalance.openProject) and deposits.`,
    })
  }
}

/**
 * A contract address in the config has no code on the chain pbj follows: a wrong address, or the right one
 * on another chain. Its events never come and its reads fail, so a loan would never lock: refused at start.
 */
export class ContractWithoutCodeError extends ConfigError {
  override name = 'ContractWithoutCodeError'
  constructor(params: { name: string; address: string; chainId: number }) {
    super(`contract ${params.name} (${params.address}) has no code on chain ${params.chainId}`, {
      hint: `Check contracts.${params.name} in pbj.config.ts: a wrong address, or rpcUrl points at another chain.`,
      meta: { field: `contracts.${params.name}`, ...params },
    })
  }
}

/**
 * A contract in the config has code, but not the interface pbj reads from it (a view call it must answer
 * reverted or returned nothing): another contract at that address.
 */
export class ContractInterfaceError extends ConfigError {
  override name = 'ContractInterfaceError'
  constructor(params: { name: string; address: string; chainId: number; expected: string; cause?: unknown }) {
    super(
      `contract ${params.name} (${params.address}) on chain ${params.chainId} does not answer ${params.expected}`,
      {
        hint: `Check contracts.${params.name} in pbj.config.ts: the address holds another contract.`,
        meta: {
          field: `contracts.${params.name}`,
          name: params.name,
          address: params.address,
          chainId: params.chainId,
        },
        cause: params.cause,
      },
    )
  }
}

/** An RPC URL that is not a ws://, wss://, http:// or https:// URL: no waiting makes it answer. */
export class RpcUrlError extends ConfigError {
  override name = 'RpcUrlError'
  constructor(params: { url: string }) {
    super(`rpcUrl '${params.url}' is not a ws://, wss://, http:// or https:// URL`, {
      hint: 'Set rpcUrl in pbj.config.ts to your node’s URL (e.g. ws://127.0.0.1:8545), or remove it to run an embedded Anvil.',
      docsPath: '#config-reference',
      meta: { field: 'rpcUrl', url: params.url },
    })
  }
}
