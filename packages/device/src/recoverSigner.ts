import { bytesToHex, hexToBytes } from '@noble/hashes/utils'
import { InvalidPrivateKeyError } from './errors/keys.js'
import { keccak256 } from './keccak256.js'
import { secp256k1 } from './secp256k1.js'
import type { PreparedKey } from './secp256k1Types.js'

/**
 * Recovers the address that signed a 32-byte digest: the one secp256k1 public-key recovery a message costs
 * (~70 µs with libsecp256k1, ~1.8 ms in pure JS on a 2-core machine; see {@link secp256k1}). Returns `null`
 * for anything that is not a canonical Ethereum signature (65 bytes r ‖ s ‖ v, v 27/28 or 0/1, low s), so a
 * mangled signature is a refusal, never an exception.
 *
 * @example
 * const signer = recoverSigner(hashes.batchDigest(root), message.auth.signature) // '0x3c44…' or null
 */
export function recoverSigner(digest: Uint8Array, signature: string): string | null {
  return recoverSignerKey(digest, signature)?.address ?? null
}

/**
 * {@link recoverSigner}, also returning the signer's public key (65 bytes, uncompressed), for
 * {@link prepareSignerKey}.
 *
 * @example
 * const recovered = recoverSignerKey(digest, signature) // { address: '0x3c44…', publicKey } or null
 */
export function recoverSignerKey(
  digest: Uint8Array,
  signature: string,
): { address: string; publicKey: Uint8Array } | null {
  const bytes = signatureBytes(signature)
  const publicKey = bytes && secp256k1.recover(digest, bytes)
  return publicKey ? { address: addressOfKey(publicKey), publicKey } : null
}

/**
 * A signer's public key made ready for fast verification. See {@link prepareSignerKey}.
 *
 * @example
 * const key: SignerKey = prepareSignerKey(recovered.publicKey)
 */
export type SignerKey = { address: string; key: PreparedKey }

/**
 * Readies a known signer's public key for {@link verifySignerKey}. In pure JS this precomputes multiples of
 * the key (a 4-bit window: ~520 points, a few ms, once), so that checking its signatures costs about 2.5×
 * less than recovering the key from each; libsecp256k1 needs no such help. A car has one or two operators,
 * so it keeps their keys.
 *
 * @example
 * const operatorKey = prepareSignerKey(recoverSignerKey(digest, signature).publicKey)
 */
export function prepareSignerKey(publicKey: Uint8Array): SignerKey {
  const key = secp256k1.prepare(publicKey)
  return { address: addressOfKey(key.publicKey), key }
}

/**
 * Whether `signature` is `key`'s signature of `digest`, recovery id included: exactly when
 * {@link recoverSigner} would return `key.address`, and cheaper in pure JS.
 *
 * @example
 * if (!verifySignerKey(digest, message.auth.signature, operatorKey)) refuse('bad-signature')
 */
export function verifySignerKey(digest: Uint8Array, signature: string, key: SignerKey): boolean {
  const bytes = signatureBytes(signature)
  return bytes !== null && secp256k1.verify(digest, bytes, key.key)
}

/**
 * Signs a 32-byte digest as Ethereum does (deterministic k, low s, 65 bytes r ‖ s ‖ v with v = 27/28): what
 * viem's `sign` gives, at a fraction of its cost.
 *
 * @example
 * const signature = signDigest(hashes.reportDigest(report), deviceKey)
 */
export function signDigest(digest: Uint8Array, privateKey: string): `0x${string}` {
  return `0x${bytesToHex(secp256k1.sign(digest, keyBytes(privateKey)))}`
}

/**
 * The lowercase address of a private key: a device's id, an operator's address.
 *
 * @example
 * addressOf('0x59c6…690d') // '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
 */
export function addressOf(privateKey: string): `0x${string}` {
  return addressOfKey(secp256k1.publicKey(keyBytes(privateKey)))
}

/** The address of an uncompressed public key: the last 20 bytes of the keccak of x ‖ y. */
function addressOfKey(publicKey: Uint8Array): `0x${string}` {
  return `0x${bytesToHex(keccak256(publicKey.subarray(1)).subarray(12))}`
}

/** A 0x-hex signature of 65 bytes as bytes; null for any other string (its contents are parseSignature's). */
function signatureBytes(signature: string): Uint8Array | null {
  return /^0x[0-9a-fA-F]{130}$/.test(signature) ? hexToBytes(signature.slice(2)) : null
}

function keyBytes(privateKey: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new InvalidPrivateKeyError({ reason: 'format' })
  }
  return hexToBytes(privateKey.slice(2))
}
