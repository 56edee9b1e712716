/** Prices the operator publishes on ExecutionBalance (`setPrices`), in token units (tUSD: 6 decimals). */
export type Prices = {
  perRunMicros: bigint
  perMsMicros: bigint
  perDeviceMessageMicros: bigint
  /** Added to the gas a run's transactions paid, in basis points (10000 = +100%). */
  gasMarkupBps: bigint
}
