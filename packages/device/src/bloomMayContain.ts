import { hexToBytes } from '@noble/hashes/utils'
import { keccak256 } from './keccak256.js'

/**
 * The bits an item sets in an Ethereum logs bloom (yellow paper, M3:2048): three 11-bit slices of its
 * keccak256, as [byte index, mask] pairs. Precompute once per item; {@link bloomMayContain} tests them.
 *
 * @example
 * const registryBits = bloomBits(registryAddress)
 */
export function bloomBits(item: `0x${string}`): readonly (readonly [number, number])[] {
  const hash = keccak256(hexToBytes(item.slice(2)))
  const bits: (readonly [number, number])[] = []
  for (let i = 0; i < 6; i += 2) {
    const bit = (((hash[i] as number) << 8) | (hash[i + 1] as number)) & 2047
    bits.push([255 - (bit >> 3), 1 << (bit & 7)])
  }
  return bits
}

/**
 * Whether a block's `logsBloom` (0x + 512 hex digits) may hold every one of the items whose
 * {@link bloomBits} are given. False means certainly not: a bloom has no false negatives, which is what
 * lets a car skip a block without reading its logs. True may be a false positive.
 *
 * @example
 * if (bloomMayContain(head.logsBloom, registryBits)) await readRegistryLogs(head.hash)
 */
export function bloomMayContain(
  logsBloom: string,
  ...items: readonly (readonly (readonly [number, number])[])[]
): boolean {
  // A malformed bloom says nothing: read the logs.
  if (!/^0x[0-9a-fA-F]{512}$/.test(logsBloom)) return true
  for (const bits of items) {
    for (const [index, mask] of bits) {
      const byte = Number.parseInt(logsBloom.slice(2 + index * 2, 4 + index * 2), 16)
      if ((byte & mask) === 0) return false
    }
  }
  return true
}
