import type { Prices } from './types.js'

/**
 * tUSD micros per ETH used to convert the gas pbj paid into the stablecoin: a fixed demo rate of
 * $3,000 per ETH (no price oracle on a dev chain). Set `payment.ethPriceMicros` to use another.
 */
export const DEMO_ETH_PRICE_MICROS = 3_000_000_000n

const WEI_PER_ETH = 10n ** 18n

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b

/**
 * The cost of one run in token units: perRun + perMs × durationMs (partial ms rounded up) + perDeviceMessage
 * × device commands + the wei its transactions paid × (1 + markup), converted at `ethPriceMicros` and rounded
 * up. Integer arithmetic only, so pbj and anyone re-checking a batch get the same unit.
 *
 * @example
 * priceRun(prices, { durationMs: 2.4, deviceMessages: 1, gasWei: 0n }) // perRun + 3 × perMs + perDeviceMessage
 */
export function priceRun(
  prices: Prices,
  usage: { durationMs: number; deviceMessages: number; gasWei: bigint },
  ethPriceMicros: bigint = DEMO_ETH_PRICE_MICROS,
): bigint {
  const ms = BigInt(Math.ceil(Math.max(0, usage.durationMs)))
  const gas =
    usage.gasWei === 0n
      ? 0n
      : ceilDiv(usage.gasWei * (10_000n + prices.gasMarkupBps) * ethPriceMicros, 10_000n * WEI_PER_ETH)
  return (
    prices.perRunMicros +
    prices.perMsMicros * ms +
    prices.perDeviceMessageMicros * BigInt(usage.deviceMessages) +
    gas
  )
}
