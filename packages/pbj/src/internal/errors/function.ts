import { PbjError, type PbjErrorOptions, type RetryClass } from './base.js'

/** A function file could not be built or loaded (syntax error, missing default export, bad trigger). */
export class FunctionBuildError extends PbjError {
  override name = 'FunctionBuildError'
  override readonly retry: RetryClass = 'user'
}

/** Why a user function's run failed inside the sandbox. */
export type RunFailureReason = 'threw' | 'timeout' | 'memory' | 'invalid-result' | 'host-call'

/** A user function failed: it threw, ran past its timeout, or exceeded its memory cap. */
export class FunctionRunError extends PbjError {
  override name = 'FunctionRunError'
  override readonly retry: RetryClass = 'user'
  readonly reason: RunFailureReason
  constructor(reason: RunFailureReason, shortMessage: string, options: PbjErrorOptions = {}) {
    super(shortMessage, options)
    this.reason = reason
  }
}

/** The sandbox itself broke (isolate disposed unexpectedly, process died); retry on a fresh one. */
export class SandboxCrashedError extends PbjError {
  override name = 'SandboxCrashedError'
  override readonly retry: RetryClass = 'retryable'
}

/** A sandbox was used after `dispose()`: the caller's bug, fatal. */
export class SandboxDisposedError extends PbjError {
  override name = 'SandboxDisposedError'
  constructor(params: { factory: string }) {
    super('The sandbox was disposed', { hint: `Create a new sandbox with ${params.factory}().` })
  }
}

/** A run asked the sandbox for a function it has not loaded (or for an `onReorg` it does not have). */
export class UnknownFunctionError extends PbjError {
  override name = 'UnknownFunctionError'
  constructor(params: { name: string; loaded: readonly string[] } | { name: string; onReorg: true }) {
    const { name } = params
    if ('onReorg' in params)
      super(`Function '${name}' has no onReorg handler`, {
        hint: 'Check bundle.hasOnReorg before running the onReorg entry.',
        meta: { functionName: name },
      })
    else
      super(`No function named '${name}' is loaded in the sandbox`, {
        hint: `Load it with sandbox.load(bundle) first. Loaded: ${params.loaded.join(', ') || 'none'}.`,
        meta: { functionName: name },
      })
  }
}

/** A host call from the sandbox with bad arguments: the user's bug, named precisely. */
export class HostCallError extends PbjError {
  override name = 'HostCallError'
  override readonly retry: RetryClass = 'user'
}

/**
 * A function tried something its `capabilities` do not grant (a device action, a contract write, a value
 * above its cap, a device its `devices.where` view does not name): refused before anything was signed or
 * stored. A user error (change the function or its capabilities), except when the `devices.where` view
 * could not be read because the RPC was away: that one is retryable.
 */
export class CapabilityError extends PbjError {
  override name = 'CapabilityError'
  override readonly retry: RetryClass
  constructor(shortMessage: string, options: PbjErrorOptions & { retry?: RetryClass } = {}) {
    const { retry = 'user', ...rest } = options
    super(shortMessage, { ...rest, docsPath: rest.docsPath ?? '#capabilities' })
    this.retry = retry
  }
}

/** A `ctx.kv` write over its size limits (one value, or the function's total); nothing was stored. */
export class KvLimitError extends PbjError {
  override name = 'KvLimitError'
  override readonly retry: RetryClass = 'user'
  constructor(
    params: { functionName: string; key: string; bytes: number } & (
      | { limit: 'value'; kvValueBytes: number }
      | { limit: 'total'; kvTotalBytes: number }
    ),
  ) {
    const { functionName, key, bytes } = params
    const at = `ctx.kv.set('${key.slice(0, 64)}')`
    if (params.limit === 'value')
      super(`${at}: the value is ${kib(bytes)} as JSON; a value may be at most ${kib(params.kvValueBytes)}`, {
        hint: 'Store less (e.g. ids and sums rather than whole records), split it over several keys, or raise limits.kvValueBytes in pbj.config.ts.',
        meta: { functionName, key, bytes, limit: params.kvValueBytes },
      })
    else
      super(
        `${at}: function '${functionName}' would hold ${kib(bytes)} of kv; at most ${kib(params.kvTotalBytes)}`,
        {
          hint: 'Delete keys it no longer needs (ctx.kv.delete), or raise limits.kvTotalBytes in pbj.config.ts.',
          meta: { functionName, key, bytes, limit: params.kvTotalBytes },
        },
      )
  }
}

const kib = (n: number) =>
  n >= 1024 * 1024 ? `${+(n / 1024 / 1024).toFixed(2)} MiB` : `${+(n / 1024).toFixed(1)} KiB`

/**
 * A run's input could not be copied into the isolate (a function, a class instance): a bug in what pbj
 * handed the sandbox, fatal as before.
 */
export class RunInputError extends PbjError {
  override name = 'RunInputError'
  constructor(params: { functionName: string; cause: unknown }) {
    const reason = params.cause instanceof Error ? params.cause.message : String(params.cause)
    super(`The input of a run of '${params.functionName}' cannot enter the sandbox: ${reason}`, {
      hint: 'RunInput must be plain data: strings, numbers, bigints, booleans, arrays and objects.',
      cause: params.cause,
      meta: { functionName: params.functionName },
    })
  }
}

/** Two function files define the same name; the second is not loaded. */
export class DuplicateFunctionError extends FunctionBuildError {
  override name = 'DuplicateFunctionError'
  constructor(params: { name: string; file: string; twinFile: string; meta?: Record<string, unknown> }) {
    const { name, file, twinFile } = params
    super(`${file}: another function is already named '${name}'`, {
      details: `Both ${twinFile} and ${file} define '${name}'.`,
      hint: 'Rename one of the files; a function is named after its file.',
      meta: { functionName: name, ...params.meta },
    })
  }
}

/**
 * A function's capabilities name something the config does not have: a secret, or a contract by name.
 * Refused when the function is loaded, before it can run.
 */
export class UnknownGrantError extends FunctionBuildError {
  override name = 'UnknownGrantError'
  constructor(params: {
    file: string
    functionName: string
    field: string
    kind: 'secret' | 'contract'
    value: string
    known: readonly string[]
    meta?: Record<string, unknown>
  }) {
    const { file, functionName, field, kind, value, known } = params
    const list = known.length ? known.join(', ') : '(none)'
    super(
      kind === 'secret'
        ? `${file}: ${field} names '${value}', which is not set in the config's secrets`
        : `${file}: ${field} '${value}' is not a known contract`,
      {
        details: kind === 'secret' ? `Known secrets: ${list}` : `Known contracts: ${list}`,
        hint:
          kind === 'secret'
            ? `Add secrets: { ${value}: process.env.${value} } to pbj.config.ts, or remove '${value}' from ${field} of function '${functionName}'.`
            : `Add ${value}: { address: '0x…' } under contracts in pbj.config.ts, or use the contract's address.`,
        meta: { field, functionName, ...params.meta },
      },
    )
  }
}
