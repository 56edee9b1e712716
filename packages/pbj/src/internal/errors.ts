import { docsLinkOf } from './docsPageOf.js'

/**
 * How the queue treats a failure. It reads this from the error's class, never from its message.
 * - `retryable`: a passing fault (RPC down, broker away, sandbox crashed); run it again later.
 * - `user`: the user's function or config is wrong (threw, timed out, bad input); retrying will not help
 *   until the user changes something.
 * - `fatal`: pbj cannot go on (corrupt store, impossible state).
 */
export type RetryClass = 'retryable' | 'user' | 'fatal'

export type PbjErrorOptions = {
  /** Extra lines shown under the short message. */
  details?: string | undefined
  /** What the user should do about it. */
  hint?: string | undefined
  /** The docs section that explains this error: an anchor (`'#capabilities'`, its page from docsPageOf) or a page path. */
  docsPath?: string | undefined
  cause?: unknown
  /** Metadata kept with the error, e.g. the config field. */
  meta?: Record<string, unknown> | undefined
}

/**
 * Base of every error pbj raises, in viem's style: a one-line `shortMessage`, optional `details`,
 * a `hint` with the fix, a `docsPath`, and the `cause`.
 *
 * @example
 * throw new ConfigError('rpcUrl must be a ws://, wss://, http:// or https:// URL', {
 *   meta: { field: 'rpcUrl' }, hint: 'Set rpcUrl: "ws://127.0.0.1:8545", or remove it to use the embedded Anvil.',
 * })
 */
export class PbjError extends Error {
  override name = 'PbjError'
  readonly shortMessage: string
  readonly details: string | undefined
  readonly hint: string | undefined
  readonly docsPath: string | undefined
  readonly meta: Record<string, unknown>
  /** How the queue treats this error; subclasses override. */
  readonly retry: RetryClass = 'fatal'

  constructor(shortMessage: string, options: PbjErrorOptions = {}) {
    const lines = [shortMessage]
    if (options.details) lines.push('', options.details)
    if (options.hint) lines.push('', `Fix: ${options.hint}`)
    if (options.docsPath) lines.push(`Docs: ${docsLinkOf(options.docsPath)}`)
    super(lines.join('\n'), options.cause === undefined ? undefined : { cause: options.cause })
    this.shortMessage = shortMessage
    this.details = options.details
    this.hint = options.hint
    this.docsPath = options.docsPath
    this.meta = options.meta ?? {}
  }
}

/** The configuration is invalid. Names the field, what is wrong, and the fix. */
export class ConfigError extends PbjError {
  override name = 'ConfigError'
  override readonly retry: RetryClass = 'user'
}

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

/** The chain's RPC failed or timed out. */
export class RpcError extends PbjError {
  override name = 'RpcError'
  override readonly retry: RetryClass = 'retryable'
}

/** The MQTT broker is unreachable or refused a publish. */
export class BrokerError extends PbjError {
  override name = 'BrokerError'
  override readonly retry: RetryClass = 'retryable'
}

/** Reads the retry class of any thrown value; unknown throwables are treated as retryable faults. */
export function retryClassOf(error: unknown): RetryClass {
  return error instanceof PbjError ? error.retry : 'retryable'
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
}
