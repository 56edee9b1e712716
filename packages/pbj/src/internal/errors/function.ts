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

/** How a sandbox went away under a run or a load, as {@link SandboxLostError} says it. */
export type SandboxLoss =
  | { problem: 'disposed-before-run' }
  | { problem: 'disposed-during'; functionName: string; doing: 'running' | 'loading' }
  | { problem: 'died-during'; functionName: string; doing: 'running' | 'loading'; reason: string }
  | { problem: 'died-before'; functionName: string; doing: 'running' | 'loading' }
  | { problem: 'could-not-start'; reason: string }
  | { problem: 'could-not-start-for'; functionName: string; reason: string }
  | { problem: 'isolate-crashed'; functionName: string; reason: string }
  | { problem: 'result-lost'; functionName: string }

/**
 * The sandbox (its isolate or its process) went away under a run or a load: retryable on a fresh one. It
 * keeps the name `SandboxCrashedError`, which run records and the sandbox wire carry.
 */
export class SandboxLostError extends SandboxCrashedError {
  constructor(params: SandboxLoss, options: PbjErrorOptions = {}) {
    super(sandboxLoss(params), options)
  }
}

function sandboxLoss(p: SandboxLoss): string {
  switch (p.problem) {
    case 'disposed-before-run':
      return 'The sandbox was disposed before this run started'
    case 'disposed-during':
      return `The sandbox was disposed while function '${p.functionName}' was ${p.doing}`
    case 'died-during':
      return `The sandbox process died while ${p.doing} function '${p.functionName}': ${p.reason}`
    case 'died-before':
      return `The sandbox process died before function '${p.functionName}' started ${p.doing}`
    case 'could-not-start':
      return `The sandbox process could not start: ${p.reason}`
    case 'could-not-start-for':
      return `Could not start the sandbox of function '${p.functionName}': ${p.reason}`
    case 'isolate-crashed':
      return `The sandbox of function '${p.functionName}' crashed: ${p.reason}`
    case 'result-lost':
      return `The result of a run of '${p.functionName}' was lost`
  }
}

/** What a user function's failed run did, as {@link FunctionFailedError} says it. */
export type FunctionFailure = { functionName: string; cause?: unknown } & (
  | { reason: 'threw'; value: string }
  | { reason: 'threw'; errorName: string; message: string; details: string | undefined }
  | { reason: 'host-call'; method: string; message: string; details: string | undefined }
  | { reason: 'timeout'; timeoutMs: number }
  | { reason: 'memory'; memoryMb: number }
  | { reason: 'invalid-result'; details: string }
)

const catchHint = 'Catch errors you expect with try/catch; pbj records the run as failed otherwise.'

/**
 * A user function's run failed (threw, failed in a ctx call, ran past its timeout or memory cap, returned
 * what cannot leave the sandbox). It keeps the name `FunctionRunError`, which run records carry.
 */
export class FunctionFailedError extends FunctionRunError {
  constructor(params: FunctionFailure) {
    super(params.reason, ...functionFailure(params))
  }
}

function functionFailure(p: FunctionFailure): [string, PbjErrorOptions] {
  const fn = `Function '${p.functionName}'`
  const cause = p.cause === undefined ? {} : { cause: p.cause }
  switch (p.reason) {
    case 'threw':
      if ('value' in p)
        return [
          `${fn} threw a non-Error value: ${p.value}`,
          { hint: 'Throw an Error (throw new Error("…")) so the message and stack trace are kept.' },
        ]
      return [
        `${fn} threw: ${p.errorName === 'Error' ? p.message : `${p.errorName}: ${p.message}`}`,
        { details: p.details, hint: catchHint },
      ]
    case 'host-call':
      return [
        `${fn} failed in ctx.${p.method}(): ${p.message}`,
        { details: p.details, hint: catchHint, ...cause, meta: { method: p.method } },
      ]
    case 'timeout':
      return [
        `${fn} ran longer than its ${p.timeoutMs} ms timeout`,
        {
          hint:
            'Make the handler finish sooner (no busy loops, await every ctx call), or raise limits.timeoutMs in ' +
            'defineFunction({ …, limits: { timeoutMs } }).',
          ...cause,
        },
      ]
    case 'memory':
      return [
        `${fn} used more than its ${p.memoryMb} MB memory limit`,
        {
          hint: 'Keep less data in memory, or raise limits.memoryMb in defineFunction({ …, limits: { memoryMb } }).',
          ...cause,
        },
      ]
    case 'invalid-result':
      return [
        `${fn} returned a value that cannot leave the sandbox`,
        {
          details: p.details,
          hint: 'Return plain data (strings, numbers, bigints, booleans, arrays, objects) or nothing.',
          ...cause,
        },
      ]
  }
}

/** An event trigger names an event its `abi` does not have. Keeps the name `FunctionBuildError`. */
export class UnknownEventError extends FunctionBuildError {
  constructor(params: { functionName: string; event: string }) {
    const { functionName, event } = params
    super(`Function '${functionName}': event '${event}' is not in the trigger's abi`, {
      meta: { field: 'trigger.event', functionName },
      hint: 'Use an event name from the ABI you pass as trigger.abi.',
    })
  }
}

/**
 * A ctx call's argument does not match its schema. `path` is the argument and the field inside it, e.g.
 * `options.message`. Keeps the name `HostCallError`.
 */
export class HostArgsError extends HostCallError {
  constructor(params: {
    method: string
    argument: string
    path: string
    issue: string
    value: unknown
    usage: string
  }) {
    const { method, argument } = params
    super(`ctx.${method}: ${params.path} ${params.issue}; got ${String(params.value)}`, {
      hint: `Call it as ${params.usage}.`,
      meta: { method, argument },
    })
  }
}

/**
 * An immobilizer timing a ctx device call carries is not a non-negative whole number of seconds, or its
 * policy is not the loan's. `at` names it, e.g. `ctx.devices.warn: lockAt`. Keeps the name `HostCallError`.
 */
export class ImmobilizerArgError extends HostCallError {
  constructor(params: { at: string; problem: 'seconds' | 'policy'; value: unknown }) {
    super(
      params.problem === 'policy'
        ? `${params.at} must be the loan's immobilizer policy (CarLoan.policyOf(loanId)); got ${String(params.value)}`
        : `${params.at} must be a non-negative whole number of seconds; got ${String(params.value)}`,
    )
  }
}
