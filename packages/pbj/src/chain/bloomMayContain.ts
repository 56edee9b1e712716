import { type Address, type Hex, hexToBytes, keccak256 } from 'viem'

const bitsCache = new Map<string, readonly number[]>()

/** The three bloom bits of a value: the low 11 bits of each of the first three byte pairs of its keccak. */
function bloomBits(value: Hex): readonly number[] {
  const key = value.toLowerCase()
  let bits = bitsCache.get(key)
  if (!bits) {
    const hash = hexToBytes(keccak256(key as Hex))
    bits = [0, 2, 4].map((i) => (((hash[i] as number) << 8) | (hash[i + 1] as number)) & 2047)
    if (bitsCache.size > 10_000) bitsCache.clear()
    bitsCache.set(key, bits)
  }
  return bits
}

/**
 * Whether a block's `logsBloom` may hold a log of `address` (false means certainly not). Catch-up uses it to
 * check that a range's eth_getLogs, which can come from a lagging or reorged node, left no block's logs out:
 * blooms have false positives (then pbj just asks again by block hash) but no false negatives.
 *
 * @example
 * if (logs.length === 0 && bloomMayContain(header.logsBloom, loanAddress)) refetchByHash(header)
 */
export function bloomMayContain(bloom: Hex, address: Address): boolean {
  // 2048 bits, big-endian: bit i lives in byte 255 - floor(i / 8).
  if (bloom.length !== 2 + 512) return true
  for (const bit of bloomBits(address)) {
    const byteIndex = 255 - Math.floor(bit / 8)
    const byte = Number.parseInt(bloom.slice(2 + byteIndex * 2, 4 + byteIndex * 2), 16)
    if ((byte & (1 << (bit % 8))) === 0) return false
  }
  return true
}
