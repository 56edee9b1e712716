import { PbjError, type PbjErrorOptions, type RetryClass } from './base.js'

/** The chain's RPC failed or timed out. */
export class RpcError extends PbjError {
  override name = 'RpcError'
  override readonly retry: RetryClass = 'retryable'
}

/** A transaction pbj sent was mined but reverted. */
export class TransactionRevertedError extends PbjError {
  override name = 'TransactionRevertedError'
  constructor(params: { hash: string; what?: string; hint?: string }) {
    const { hash, what = 'Transaction', hint } = params
    super(`${what} ${hash} reverted`, { hint, meta: { hash } })
  }
}

/** A chain the command talks to could not be reached or read. */
export class ChainUnreachableError extends RpcError {
  override name = 'ChainUnreachableError'
  constructor(params: { rpcUrl: string; what: string; cause: unknown; hint?: string }) {
    const { rpcUrl, what, cause, hint } = params
    super(`cannot read ${what} from ${rpcUrl}`, { cause, hint, meta: { rpcUrl } })
  }
}

// The RpcError subclasses below keep the name `RpcError`: followHeads and stored run errors read it.

/** None of the configured RPC URLs answered `eth_chainId`, so pbj cannot start on that chain. */
export class ChainConnectError extends RpcError {
  constructor(params: { urls: readonly string[]; cause: unknown }) {
    super(`Cannot reach the chain at ${params.urls.join(', ')}`, {
      cause: params.cause,
      // messageOf's rule, inline: a pbj.config.ts loads these errors, and @pbj/internal does not resolve there.
      details: params.cause instanceof Error ? params.cause.message : String(params.cause),
      hint: 'Check rpcUrl in pbj.config.ts, or remove it to run an embedded Anvil.',
      meta: { field: 'rpcUrl' },
    })
  }
}

/** The node has no block by that number (yet): retryable, as a lagging node will have it soon. */
export class BlockNotFoundError extends RpcError {
  constructor(params: { block: bigint | 'latest'; rpcUrl: string }) {
    super(`Block ${String(params.block)} not found at ${params.rpcUrl}`)
  }
}

/** A request got no answer within the pool's own time limit (e.g. a WebSocket that never opened). */
export class RpcTimeoutError extends RpcError {
  override name = 'RpcTimeoutError'
  constructor(params: { url: string; timeoutMs: number; method: string }) {
    super(`No answer from ${params.url} within ${params.timeoutMs} ms (${params.method})`)
  }
}

/** The node answered a JSON-RPC request with an error object. */
export class RpcAnswerError extends RpcError {
  constructor(params: { url: string; method: string; message: string }) {
    super(`${params.method} on ${params.url}: ${params.message}`)
  }
}

/** A `newHeads` WebSocket subscription did not start in time, or failed once live. */
export class HeadSubscriptionError extends RpcError {
  constructor(
    params: { url: string; problem: 'timeout' } | { url: string; problem: 'failed'; cause: unknown },
  ) {
    if (params.problem === 'timeout') super(`newHeads subscription at ${params.url} timed out`)
    else super(`newHeads at ${params.url}: ${oneLine(params.cause)}`, { cause: params.cause })
  }
}

/** viem's errors carry a one-line shortMessage; a failed WebSocket gives an ErrorEvent, not an Error. */
function oneLine(error: unknown): string {
  const e = error as { shortMessage?: unknown; message?: unknown } | null
  return typeof e?.shortMessage === 'string'
    ? e.shortMessage
    : typeof e?.message === 'string' && e.message
      ? e.message
      : String(error)
}

/** The embedded Anvil could not be found, started, or reached. */
export class AnvilError extends PbjError {
  override name = 'AnvilError'
  constructor(
    params:
      | { problem: 'not-installed'; packageName: string; cause: unknown }
      | { problem: 'binary-missing'; packageName: string; binary: string }
      | {
          problem: 'exited'
          host: string
          port: number
          reason: string
          log: string
          binary: string
          portGiven: boolean
        }
      | { problem: 'silent'; rpcUrl: string; readyTimeoutMs: number; log: string }
      | { problem: 'other-node'; rpcUrl: string; answered: number; chainId: number },
  ) {
    super(...anvilFailure(params))
  }
}

function anvilFailure(params: ConstructorParameters<typeof AnvilError>[0]): [string, PbjErrorOptions] {
  switch (params.problem) {
    case 'not-installed':
      return [
        `Anvil is not installed for ${process.platform}/${process.arch} (${params.packageName})`,
        {
          cause: params.cause,
          details:
            'pbj runs a local chain with Anvil from the @foundry-rs/anvil npm package, which installs the binary ' +
            'as an optional dependency for the current platform.',
          hint: `Run \`npm install\` on this machine (not a copied node_modules), or install ${params.packageName}. Or set rpcUrl to an existing node.`,
        },
      ]
    case 'binary-missing':
      return [
        `Anvil's binary is missing from ${params.packageName}`,
        {
          details: `Expected it at ${params.binary}.`,
          hint: `Reinstall it: \`npm install ${params.packageName}\`.`,
        },
      ]
    case 'exited':
      return [
        `Anvil failed to start on ${params.host}:${params.port}: ${params.reason}`,
        {
          details: params.log ? `Anvil said:\n${params.log}` : `Binary: ${params.binary}`,
          hint: params.portGiven
            ? `Port ${params.port} may be in use; pick another or omit port.`
            : undefined,
        },
      ]
    case 'silent':
      return [
        `Anvil did not answer on ${params.rpcUrl} within ${params.readyTimeoutMs / 1000} s`,
        {
          details: params.log || undefined,
          hint: 'The machine may be overloaded; try again, or point rpcUrl at a node you run yourself.',
        },
      ]
    case 'other-node':
      return [
        `Another node answered on ${params.rpcUrl} (chain id ${params.answered}, not ${params.chainId})`,
        {},
      ]
  }
}

/**
 * A reorg deeper than pbj keeps history for: no block pbj processed in the window is on the node's chain.
 * `oldestKept` is the oldest block of the window pbj compared, where the engine resumes from the new chain
 * (followHeads' onDeepReorg); without that the follower stops with this error.
 */
export class DeepReorgError extends PbjError {
  override name = 'DeepReorgError'
  readonly oldestKept: bigint
  constructor(params: {
    maxDepth: number
    ourHead: { number: bigint; hash: string }
    theirHash: string
    oldestKept: bigint
  }) {
    const { ourHead } = params
    super(`Reorg deeper than pbj's window: no common block in the last ${params.maxDepth} blocks`, {
      details: `pbj's head is ${ourHead.number} (${ourHead.hash}); the node serves ${params.theirHash} there.`,
      hint: "Check that rpcUrl points at the right chain. pbj rolls back the blocks it keeps, resumes from the node's chain at the window's depth and reconciles every device.",
      docsPath: '#deep-reorg',
    })
    this.oldestKept = params.oldestKept
  }
}
