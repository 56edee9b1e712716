import type { Address, Hex } from 'viem'
import type { PbjConfig } from '../config/schema.js'
import { PbjError } from '../internal/errors.js'
import type { PaymentOptions } from './createPaymentMeter.js'

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
    throw new PbjError(`payment.contract '${name}' is not in contracts`, {
      hint: 'Add the ExecutionBalance address under contracts, or set payment.contract to its address.',
    })
  }
  return {
    contract,
    projectId: p.projectId as Hex,
    ...(p.settleEvery ? { settleEvery: p.settleEvery } : {}),
    ...(p.ethPriceMicros === undefined ? {} : { ethPriceMicros: BigInt(p.ethPriceMicros) }),
  }
}
