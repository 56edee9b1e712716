import { createDecipheriv } from 'node:crypto'
import type { Address, Hex } from 'viem'

/**
 * The keystore format pbj wrote before it wrote Web3 Secret Storage v3: scrypt, then AES-256-GCM with the
 * address and KDF parameters as authenticated data. pbj only reads it, once, to rewrite it as v3
 * (`openKeystore`); no Ethereum tool reads it. Kept apart so it can be deleted once no such file is left.
 */
export type LegacyKeystore = {
  version: 1
  address: Address
  crypto: {
    cipher: 'aes-256-gcm'
    ciphertext: string
    iv: string
    tag: string
    kdf: 'scrypt'
    kdfparams: { n: number; r: number; p: number; dklen: 32; salt: string }
  }
  createdAt?: string
}

const hex = (v: unknown) => typeof v === 'string' && v.length > 0 && /^[0-9a-f]*$/i.test(v)

/** Whether a parsed file is a keystore in pbj's old format. */
export function isLegacyKeystore(value: unknown): value is LegacyKeystore {
  const k = value as Partial<LegacyKeystore> | null
  const c = k?.crypto
  const p = c?.kdfparams
  return (
    k?.version === 1 &&
    typeof k.address === 'string' &&
    /^0x[0-9a-fA-F]{40}$/.test(k.address) &&
    c?.cipher === 'aes-256-gcm' &&
    c.kdf === 'scrypt' &&
    hex(c.ciphertext) &&
    hex(c.iv) &&
    hex(c.tag) &&
    hex(p?.salt) &&
    Number.isInteger(p?.n) &&
    Number.isInteger(p?.r) &&
    Number.isInteger(p?.p) &&
    p?.dklen === 32
  )
}

/**
 * Decrypts a keystore in pbj's old format with the key scrypt derived from the passphrase
 * (`kdfparams` as in the file). Null when the passphrase is wrong or the file was altered (GCM's tag fails).
 */
export function decryptLegacyKeystore(keystore: LegacyKeystore, derivedKey: Buffer): Hex | null {
  const c = keystore.crypto
  // The authenticated data: the address and the KDF parameters, so neither could be edited unnoticed.
  const aad = Buffer.from(JSON.stringify([keystore.version, keystore.address.toLowerCase(), c.kdfparams]))
  try {
    const decipher = createDecipheriv('aes-256-gcm', derivedKey, Buffer.from(c.iv, 'hex'))
    decipher.setAAD(aad)
    decipher.setAuthTag(Buffer.from(c.tag, 'hex'))
    const plain = Buffer.concat([decipher.update(Buffer.from(c.ciphertext, 'hex')), decipher.final()])
    return `0x${plain.toString('hex')}`
  } catch {
    return null
  }
}
