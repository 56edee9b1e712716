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
