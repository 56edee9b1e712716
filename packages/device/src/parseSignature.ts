import { hexToBytes } from '@noble/hashes/utils'

/**
 * A signature that passed {@link parseSignature}: its 64 bytes r ‖ s and its recovery id.
 *
 * @example
 * const parsed: ParsedSignature = { compact: bytes.subarray(0, 64), recovery: 1 }
 */
export type ParsedSignature = { compact: Uint8Array; recovery: 0 | 1 }

/**
 * Parses a 65-byte r ‖ s ‖ v signature, canonical only: v 27/28 or 0/1, 1 ≤ r < n, 1 ≤ s ≤ n/2. Both
 * secp256k1 backends run every signature through this one function before any curve arithmetic, so they
 * refuse exactly the same ones whatever their library would tolerate (libsecp256k1 recovers from a high-s
 * signature; only its verify refuses it). Returns null, never throws.
 *
 * @example
 * const parsed = parseSignature(hexToBytes(signature.slice(2))) // { compact, recovery } or null
 */
export function parseSignature(signature: Uint8Array): ParsedSignature | null {
  if (signature.length !== 65) return null
  const v = signature[64] as number
  const recovery = v >= 27 ? v - 27 : v
  if (recovery !== 0 && recovery !== 1) return null
  const r = signature.subarray(0, 32)
  const s = signature.subarray(32, 64)
  if (isZero(r) || compare(r, ORDER) >= 0) return null
  // The high-s twin of a signature is just as valid to the curve; refusing it keeps one signature per message.
  if (isZero(s) || compare(s, HALF_ORDER) > 0) return null
  return { compact: signature.subarray(0, 64), recovery }
}

/** n, the order of secp256k1's group, big-endian. */
const ORDER = hexToBytes('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141')
/** ⌊n / 2⌋: the largest low s. */
const HALF_ORDER = hexToBytes('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0')

function isZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false
  return true
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return 0
}
