import { createCipheriv, randomBytes, scryptSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import type { Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'

/**
 * Writes a keystore in the format pbj used before Web3 Secret Storage v3 (scrypt + AES-256-GCM, the address
 * and KDF parameters as authenticated data), byte for byte as pbj's old `encryptKey` did, so the tests can
 * check that pbj still opens such a file and rewrites it as v3.
 *
 * @example
 * await writeLegacyKeystore(join(dir, 'old.json'), generatePrivateKey(), 'old passphrase', 2 ** 12)
 */
export async function writeLegacyKeystore(path: string, privateKey: Hex, passphrase: string, n: number) {
  const address = privateKeyToAddress(privateKey)
  const kdfparams = { n, r: 8, p: 1, dklen: 32 as const, salt: randomBytes(32).toString('hex') }
  const key = scryptSync(passphrase.normalize('NFKC'), Buffer.from(kdfparams.salt, 'hex'), 32, {
    N: n,
    r: 8,
    p: 1,
    maxmem: 256 * n * 8 + 1024 * 1024,
  })
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(JSON.stringify([1, address.toLowerCase(), kdfparams])))
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()])
  const keystore = {
    version: 1,
    address,
    crypto: {
      cipher: 'aes-256-gcm',
      ciphertext: ciphertext.toString('hex'),
      iv: iv.toString('hex'),
      tag: cipher.getAuthTag().toString('hex'),
      kdf: 'scrypt',
      kdfparams,
    },
    createdAt: new Date().toISOString(),
  }
  writeFileSync(path, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600 })
}
