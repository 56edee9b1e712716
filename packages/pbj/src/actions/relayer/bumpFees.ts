/** EIP-1559 fees of one transaction (wei per gas). */
export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }

/** `v` raised by at least 12.5 % (rounded up) and by at least 1 wei. */
const raise = (v: bigint) => v + (v + 7n) / 8n + (v === 0n ? 1n : 0n)

/**
 * Fees for a replacement of a transaction with the same nonce: both the fee cap and the priority fee at
 * least 12.5 % above the previous attempt's (nodes refuse a replacement that does not raise both, geth by
 * 10 %), and never below what the market asks now, so a transaction stuck behind a rising base fee catches
 * up in one replacement instead of many. Returns null when the replacement would exceed `cap`.
 *
 * @example
 * bumpFees({ maxFeePerGas: 80n, maxPriorityFeePerGas: 8n }, { maxFeePerGas: 50n, maxPriorityFeePerGas: 1n })
 * // { maxFeePerGas: 90n, maxPriorityFeePerGas: 9n }
 */
export function bumpFees(previous: Fees, market: Fees, cap?: bigint): Fees | null {
  const maxPriorityFeePerGas = max(raise(previous.maxPriorityFeePerGas), market.maxPriorityFeePerGas)
  const maxFeePerGas = max(raise(previous.maxFeePerGas), market.maxFeePerGas, maxPriorityFeePerGas)
  if (cap !== undefined && maxFeePerGas > cap) return null
  return { maxFeePerGas, maxPriorityFeePerGas }
}

/** Math.max for bigints. */
function max(first: bigint, ...rest: bigint[]): bigint {
  let m = first
  for (const v of rest) if (v > m) m = v
  return m
}
