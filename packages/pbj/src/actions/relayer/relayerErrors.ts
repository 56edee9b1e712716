import { ConfigError, type PbjErrorOptions, RpcError, TransientError } from '../../internal/errors.js'
import { TxRefusedError } from './TxRefusedError.js'

// The relayer's and ctx.chain.write's failures, one class each, on TxRefusedError (user), RpcError
// (retryable) or TransientError (retryable) as before.
// Each keeps its family's `name`: a run's error is stored and shown (`pbj runs`) by name, so the class
// tells them apart in code and the record reads as before.

/** `ctx.chain.write` was called while the engine has no operator key, so there is nothing to send from. */
export class NoOperatorKeyError extends TxRefusedError {
  constructor() {
    super('ctx.chain.write needs an operator key to send from', {
      hint: 'Set operatorKey, or operatorKeystore with PBJ_KEY_PASSPHRASE, in pbj.config.ts.',
    })
  }
}

/**
 * The arguments of a `ctx.chain.write` from the sandbox are not a call pbj can encode: the wrong shape,
 * `args` not an array, a `value` or `gas` that is not a bigint ≥ 0n, or an ABI that does not encode them.
 */
export class ChainWriteArgsError extends TxRefusedError {
  constructor(params: ChainWriteArgsProblem) {
    super(...chainWriteArgsFailure(params))
  }
}

type ChainWriteArgsProblem =
  | { problem: 'shape' }
  | { problem: 'args' }
  | { problem: 'amount'; field: 'value' | 'gas'; value: unknown }
  | { problem: 'encode'; functionName: string; cause: unknown }

function chainWriteArgsFailure(params: ChainWriteArgsProblem): [string, PbjErrorOptions] {
  switch (params.problem) {
    case 'shape':
      return ['ctx.chain.write needs { contract, abi, functionName, args?, value? }', {}]
    case 'args':
      return ['ctx.chain.write: args must be an array', {}]
    case 'amount':
      return [`ctx.chain.write: ${params.field} must be a bigint ≥ 0n; got ${String(params.value)}`, {}]
    case 'encode': {
      const { cause } = params
      return [
        `ctx.chain.write: cannot encode ${params.functionName}`,
        { cause, details: cause instanceof Error ? cause.message.split('\n')[0] : String(cause) },
      ]
    }
  }
}

/** The node's gas estimate reverts: the transaction would fail as asked, so nothing was sent. */
export class TxWouldFailError extends TxRefusedError {
  constructor(params: { to: string; message: string; cause: unknown }) {
    super(`The transaction to ${params.to} would fail: ${params.message}`, {
      cause: params.cause,
      hint: 'Check the call and its arguments; nothing was sent.',
    })
  }
}

/** Nodes refused a signed transaction for good (malformed, gas above the block's limit). */
export class TxRejectedError extends TxRefusedError {
  constructor(params: { idempotencyKey: string; error: string | null }) {
    super(`The transaction ${params.idempotencyKey} was refused: ${params.error ?? 'unknown'}`, {
      hint: 'Nodes will not take it as signed; check its target, data and gas.',
    })
  }
}

/**
 * The relayer could not read what it needs from the chain before signing (a gas estimate that failed for
 * a reason other than a revert, or the fees): a passing RPC fault, retryable.
 */
export class RelayerRpcError extends RpcError {
  constructor(
    params: { what: 'gas'; to: string; message: string; cause: unknown } | { what: 'fees'; cause: unknown },
  ) {
    super(
      params.what === 'gas'
        ? `Could not estimate gas for a transaction to ${params.to}: ${params.message}`
        : 'Could not read the chain’s fees',
      { cause: params.cause },
    )
  }
}

/** `relayer.send` after `close()`: retryable, as the engine's next relayer will take the send. */
export class RelayerClosedError extends TransientError {
  constructor() {
    super('the relayer is closed')
  }
}

/** The relayer was given an account that cannot sign transactions (e.g. a JSON-RPC account). */
export class RelayerAccountError extends ConfigError {
  constructor() {
    super('the relayer account cannot sign transactions', {
      meta: { field: 'account' },
      hint: 'Give the relayer a private key or a viem local account (privateKeyToAccount).',
    })
  }
}

/** A nonce was asked for before the relayer synced its counter with the chain: retryable. */
export class NonceNotSyncedError extends TransientError {
  constructor() {
    super('nonce manager used before sync', {
      hint: 'The relayer syncs its nonces when it starts; the send is retried.',
    })
  }
}
