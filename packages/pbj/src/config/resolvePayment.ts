import type { Address, Hex } from 'viem'
import { ConfigError, UnknownContractError } from '../internal/errors.js'
import type { PaymentOptions } from '../payment/createPaymentMeter.js'
import { projectIdOf } from '../payment/projectIdOf.js'
import type { PbjConfig } from './schema.js'

/**
 * The engine's `payment` option from the config's `payment` block (contract by name or address; default
 * the `ExecutionBalance` contract); undefined when the config has none, so nothing changes.
 *
 * @example
 * const payment = resolvePayment(config, contracts) // { contract: '0x…', projectId: '0x…' } | undefined
 */
export function resolvePayment(
  config: Pick<PbjConfig, 'payment'>,
  contracts: Record<string, Address>,
): PaymentOptions | undefined {
  const p = config.payment
  if (!p) return undefined
  const name = p.contract ?? 'ExecutionBalance'
  const contract = /^0x[0-9a-fA-F]{40}$/.test(name) ? (name as Address) : contracts[name]
  if (!contract) {
    throw new UnknownContractError({
      name,
      where: 'payment.contract',
      known: Object.keys(contracts),
      orElse: 'set payment.contract to the ExecutionBalance address',
      meta: { field: 'payment.contract' },
    })
  }
  const derived =
    p.owner !== undefined && p.salt !== undefined ? projectIdOf(p.owner as Address, p.salt) : null
  if (derived && p.projectId !== undefined && derived.toLowerCase() !== p.projectId.toLowerCase()) {
    throw new ConfigError(
      `payment.projectId ${p.projectId} is not the project of payment.owner and payment.salt`,
      {
        details: `ExecutionBalance.projectIdOf(${p.owner}, ${p.salt}) = ${derived}`,
        hint: 'Give either projectId, or owner and salt; a project id is bound to its owner.',
      },
    )
  }
  return {
    contract,
    projectId: (derived ?? p.projectId) as Hex,
    ...(p.settleEvery ? { settleEvery: p.settleEvery } : {}),
    ...(p.ethPriceMicros === undefined ? {} : { ethPriceMicros: BigInt(p.ethPriceMicros) }),
  }
}
