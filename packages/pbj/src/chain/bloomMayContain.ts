import { bloomBits, bloomMayContain as mayContainBits } from '@pbj/device'
import type { Address, Hex } from 'viem'

// An address's bits are a keccak256 away; the engine asks about the same few watched addresses every block.
const bitsCache = new Map<string, ReturnType<typeof bloomBits>>()

/**
 * Whether a block's `logsBloom` may hold a log of `address` (false means certainly not). Catch-up uses it to
 * check that a range's eth_getLogs, which can come from a lagging or reorged node, left no block's logs out:
 * blooms have false positives (then pbj just asks again by block hash) but no false negatives. The bloom
 * arithmetic is the car's (`@pbj/device`), written once.
 *
 * @example
 * if (logs.length === 0 && bloomMayContain(header.logsBloom, loanAddress)) refetchByHash(header)
 */
export function bloomMayContain(bloom: Hex, address: Address): boolean {
  const key = address.toLowerCase()
  let bits = bitsCache.get(key)
  if (!bits) {
    bits = bloomBits(key as Hex)
    if (bitsCache.size > 10_000) bitsCache.clear()
    bitsCache.set(key, bits)
  }
  return mayContainBits(bloom, bits)
}
