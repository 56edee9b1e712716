/** The secp256k1 contract both backends implement (kept apart so the backends and the selector do not import each other). */

/**
 * Which implementation does pbj's secp256k1 arithmetic: `native` is libsecp256k1 through the `secp256k1`
 * package's prebuilt N-API binding, `js` is @noble/curves.
 *
 * @example
 * const backend: Secp256k1Backend = secp256k1Backend() // 'native'
 */
export type Secp256k1Backend = 'native' | 'js'

/**
 * A public key made ready for {@link Secp256k1.verify}: what is precomputed depends on the backend, and is
 * kept out of sight. A key prepared by one backend still verifies with the other, only without the head start.
 *
 * @example
 * const key: PreparedKey = secp256k1.prepare(publicKey)
 */
export type PreparedKey = { readonly publicKey: Uint8Array }

/**
 * The secp256k1 operations pbj signs and checks commands and reports with. Both backends make the same
 * decisions on every input: signatures go through one parser (parseSignature: 65 bytes r ‖ s ‖ v, v 27/28 or
 * 0/1, 1 ≤ r < n, 1 ≤ s ≤ n/2) before any curve arithmetic, and signing is RFC 6979 deterministic in both,
 * so the same key and digest give the same bytes. Digests are 32 bytes; another length is a programming
 * error and throws.
 *
 * @example
 * const signature = secp256k1.sign(digest, privateKey)
 * secp256k1.recover(digest, signature) // the signer's 65-byte public key
 */
export type Secp256k1 = {
  readonly backend: Secp256k1Backend
  /**
   * Signs as Ethereum does: deterministic k (RFC 6979), low s, 65 bytes r ‖ s ‖ v with v = 27/28. Throws a
   * DeviceError if `privateKey` is not 32 bytes in [1, n-1].
   */
  sign(digest: Uint8Array, privateKey: Uint8Array): Uint8Array
  /** The uncompressed public key (65 bytes, 0x04 ‖ x ‖ y) of a private key; throws as `sign` does. */
  publicKey(privateKey: Uint8Array): Uint8Array
  /** The uncompressed public key that made a canonical 65-byte signature of `digest`; null for anything else. */
  recover(digest: Uint8Array, signature: Uint8Array): Uint8Array | null
  /** Readies a signer's uncompressed public key for {@link Secp256k1.verify}; throws if it is not a point. */
  prepare(publicKey: Uint8Array): PreparedKey
  /** Whether `signature` is `key`'s: exactly when `recover` would return `key.publicKey`, v included. */
  verify(digest: Uint8Array, signature: Uint8Array, key: PreparedKey): boolean
}
