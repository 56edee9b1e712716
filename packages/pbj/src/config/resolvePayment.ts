import type { Address, Hex } from 'viem'
import { PaymentProjectMismatchError, UnknownContractError } from '../internal/errors.js'
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
    throw new PaymentProjectMismatchError({
      projectId: p.projectId,
      owner: String(p.owner),
      salt: String(p.salt),
      derived,
    })
  }
  return {
    contract,
    projectId: (derived ?? p.projectId) as Hex,
    ...(p.settleEvery ? { settleEvery: p.settleEvery } : {}),
    ...(p.ethPriceMicros === undefined ? {} : { ethPriceMicros: BigInt(p.ethPriceMicros) }),
  }
}
