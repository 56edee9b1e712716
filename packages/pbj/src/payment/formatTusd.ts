import { formatUnits, parseUnits } from 'viem'

/** tUSD has 6 decimals. */
export const TUSD_DECIMALS = 6

/**
 * Token units as a tUSD amount with `digits` decimals, rounded down (a balance is never overstated).
 *
 * @example
 * formatTusd(1_234_567n) // '1.23'
 */
export function formatTusd(units: bigint, digits = 2): string {
  const step = 10n ** BigInt(TUSD_DECIMALS - digits)
  const floored = units >= 0n ? (units / step) * step : -((-units + step - 1n) / step) * step
  return Number(formatUnits(floored, TUSD_DECIMALS)).toFixed(digits)
}

/**
 * A decimal tUSD string ("12.5") as token units; throws on anything else.
 *
 * @example
 * parseTusd('12.5') // 12_500_000n
 */
export function parseTusd(text: string): bigint {
  if (!/^\d+(\.\d{1,6})?$/.test(text.trim())) {
    throw new TypeError(`amount must be a tUSD decimal like 12.5 (at most 6 decimals); got '${text}'`)
  }
  return parseUnits(text.trim(), TUSD_DECIMALS)
}
