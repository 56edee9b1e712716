import { docsLinkOf } from '../docsPageOf.js'
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

/** How many links {@link walk} visits at most: a guard against cycles, longer than any real wrapping. */
const maxLinks = 8

/**
 * Follows an error's `cause` chain, as viem's `BaseError.walk` does. Without `fn`, returns the deepest
 * error; with `fn`, the first link (the error itself first) for which `fn` returns true, or null. Works on
 * any thrown value, not only pbj's errors: viem and Node wrap the node's answer several levels deep.
 *
 * @example
 * walk(error, (e) => e instanceof RpcError) // the RpcError somewhere in the chain, or null
 */
export function walk(error: unknown, fn?: (error: unknown) => boolean): unknown {
  let e = error
  for (let links = 1; ; links++) {
    if (fn?.(e)) return e
    const cause = e && typeof e === 'object' ? (e as { cause?: unknown }).cause : undefined
    if (!cause || links >= maxLinks) return fn ? null : e
    e = cause
  }
}

/**
 * Base of every error pbj raises, in viem's style: a one-line `shortMessage`, optional `details`,
 * a `hint` with the fix, a `docsPath`, and the `cause`. Subclasses take typed parameters and build
 * these themselves, so a message is written once, where its class is.
 *
 * @example
 * throw new UnknownContractError({ name: 'Loan', field: 'payment.contract', known: ['CarLoan'] })
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

  /**
   * This error's cause chain: the deepest error, or the first (this one included) matching `fn`.
   *
   * @example
   * error.walk((e) => e instanceof BrokerError)
   */
  walk(fn?: (error: unknown) => boolean): unknown {
    return walk(this, fn)
  }
}

/** Reads the retry class of any thrown value; unknown throwables are treated as retryable faults. */
export function retryClassOf(error: unknown): RetryClass {
  return error instanceof PbjError ? error.retry : 'retryable'
}

/** Something pbj's own code should never let happen (an invariant broke): fatal, report it as a bug. */
export class InternalError extends PbjError {
  override name = 'InternalError'
  override readonly retry: RetryClass = 'fatal'
  constructor(what: string, options: PbjErrorOptions = {}) {
    super(`Internal error: ${what}`, { hint: 'This is a bug in pbj; please report it.', ...options })
  }
}

/**
 * A passing fault outside pbj (a socket closed, a request timed out, a peer went away) with no better
 * class: retryable, as a plain `Error` was before pbj named these.
 */
export class TransientError extends PbjError {
  override name = 'TransientError'
  override readonly retry: RetryClass = 'retryable'
}

/** A command, flag or argument the user gave pbj is wrong. Says which and how to fix it. */
export class UsageError extends PbjError {
  override name = 'UsageError'
  override readonly retry: RetryClass = 'user'
}

/** Waiting for an event ran out of time: retryable. Keeps the name `TransientError`. */
export class WaitTimeoutError extends TransientError {
  constructor(params: { timeoutMs: number; what: string }) {
    super(`Timed out after ${params.timeoutMs} ms waiting for ${params.what}`)
  }
}

/** A socket was bound but the OS did not say on which port: retryable. Keeps the name `TransientError`. */
export class PortUnreadableError extends TransientError {
  constructor(params: { host: string }) {
    super(`could not read the port bound on ${params.host}`)
  }
}
