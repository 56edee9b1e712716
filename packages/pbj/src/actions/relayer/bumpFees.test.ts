import { describe, expect, it } from 'vitest'
import { bumpFees } from './bumpFees.js'

describe('bumpFees', () => {
  it('raises both fees by at least 12.5 %, rounding up', () => {
    const next = bumpFees(
      { maxFeePerGas: 1_000_001n, maxPriorityFeePerGas: 9n },
      { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n },
    )
    expect(next).toEqual({ maxFeePerGas: 1_125_002n, maxPriorityFeePerGas: 11n })
    expect((next?.maxFeePerGas ?? 0n) * 8n).toBeGreaterThanOrEqual(1_000_001n * 9n)
    expect((next?.maxPriorityFeePerGas ?? 0n) * 8n).toBeGreaterThanOrEqual(9n * 9n)
  })

  it('follows the market when it asks for more than the bump', () => {
    expect(
      bumpFees(
        { maxFeePerGas: 10n, maxPriorityFeePerGas: 1n },
        { maxFeePerGas: 500n, maxPriorityFeePerGas: 7n },
      ),
    ).toEqual({ maxFeePerGas: 500n, maxPriorityFeePerGas: 7n })
  })

  it('raises a zero priority fee and keeps the cap above the priority fee', () => {
    expect(
      bumpFees(
        { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n },
        { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n },
      ),
    ).toEqual({
      maxFeePerGas: 1n,
      maxPriorityFeePerGas: 1n,
    })
  })

  it('refuses to go above the cap', () => {
    expect(
      bumpFees(
        { maxFeePerGas: 100n, maxPriorityFeePerGas: 1n },
        { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n },
        110n,
      ),
    ).toBeNull()
  })
})
