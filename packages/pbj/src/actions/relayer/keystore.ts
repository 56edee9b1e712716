import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { type Address, getAddress, type Hex, isHex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { PbjError, type RetryClass } from '../../internal/errors.js'

/** The environment variable the engine and `pbj keys` read the keystore's passphrase from. */
export const passphraseEnv = 'PBJ_KEY_PASSPHRASE'

/** An operator key encrypted at rest: scrypt derives a key from the passphrase, AES-256-GCM seals it. */
export type Keystore = {
  version: 1
  /** The key's address, in clear so tools can show it; authenticated, so it cannot be swapped. */
  address: Address
  crypto: {
    cipher: 'aes-256-gcm'
    /** Hex, without 0x. */
    ciphertext: string
    iv: string
    tag: string
    kdf: 'scrypt'
    kdfparams: { n: number; r: number; p: number; dklen: 32; salt: string }
  }
  createdAt: string
}

/** A keystore that cannot be read, written or opened (wrong passphrase, altered file, bad format). */
export class KeystoreError extends PbjError {
  override name = 'KeystoreError'
  override readonly retry: RetryClass = 'user'
}

/** scrypt cost: N = 2^17, r = 8 (128 MiB, ~0.3–0.6 s here), like geth's "light" keystores and above. */
const defaultN = 2 ** 17
const scrypt = (passphrase: string, salt: Buffer, p: Keystore['crypto']['kdfparams']) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCallback(
      passphrase.normalize('NFKC'),
      salt,
      p.dklen,
      // maxmem: Node's 32 MiB default is below what N = 2^17 needs (128 · N · r bytes).
      { N: p.n, r: p.r, p: p.p, maxmem: 256 * p.n * p.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  )
/** The authenticated data: the address and the KDF parameters, so neither can be edited unnoticed. */
const aad = (k: Pick<Keystore, 'address' | 'version'> & { kdfparams: Keystore['crypto']['kdfparams'] }) =>
  Buffer.from(JSON.stringify([k.version, k.address.toLowerCase(), k.kdfparams]))

const checkPassphrase = (passphrase: string | undefined): string => {
  if (!passphrase) {
    throw new KeystoreError('No passphrase for the operator keystore', {
      hint: `Set ${passphraseEnv} to the keystore's passphrase.`,
    })
  }
  return passphrase
}

/**
 * Encrypts a private key with a passphrase (scrypt + AES-256-GCM from node:crypto).
 *
 * @example
 * const keystore = await encryptKey(generatePrivateKey(), process.env.PBJ_KEY_PASSPHRASE)
 * writeKeystore('.pbj/operator.json', keystore)
 */
export async function encryptKey(
  privateKey: Hex,
  passphrase: string | undefined,
  options: { n?: number } = {},
): Promise<Keystore> {
  if (!isHex(privateKey) || privateKey.length !== 66) {
    throw new KeystoreError('A private key is 0x followed by 64 hex digits')
  }
  const address = privateKeyToAddress(privateKey)
  const kdfparams = {
    n: options.n ?? defaultN,
    r: 8,
    p: 1,
    dklen: 32 as const,
    salt: randomBytes(32).toString('hex'),
  }
  const key = await scrypt(checkPassphrase(passphrase), Buffer.from(kdfparams.salt, 'hex'), kdfparams)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(aad({ version: 1, address, kdfparams }))
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()])
  return {
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
}

/**
 * Decrypts a keystore with its passphrase.
 *
 * @throws KeystoreError naming the problem: a wrong passphrase (or an altered file), or not a keystore.
 * @example
 * const privateKey = await decryptKey(readKeystore('.pbj/operator.json'), process.env.PBJ_KEY_PASSPHRASE)
 */
export async function decryptKey(
  keystore: Keystore,
  passphrase: string | undefined,
  source = 'the keystore',
): Promise<Hex> {
  const c = keystore.crypto
  const key = await scrypt(checkPassphrase(passphrase), Buffer.from(c.kdfparams.salt, 'hex'), c.kdfparams)
  let plain: Buffer
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(c.iv, 'hex'))
    decipher.setAAD(aad({ version: keystore.version, address: keystore.address, kdfparams: c.kdfparams }))
    decipher.setAuthTag(Buffer.from(c.tag, 'hex'))
    plain = Buffer.concat([decipher.update(Buffer.from(c.ciphertext, 'hex')), decipher.final()])
  } catch (cause) {
    throw new KeystoreError(`Wrong passphrase for ${source} (or the file was altered)`, {
      cause,
      hint: `Set ${passphraseEnv} to the passphrase it was created with (pbj keys create / import).`,
    })
  }
  const privateKey = `0x${plain.toString('hex')}` as Hex
  if (privateKeyToAddress(privateKey) !== getAddress(keystore.address)) {
    throw new KeystoreError(`${source} decrypts to a key that is not ${keystore.address}`)
  }
  return privateKey
}

/**
 * Reads and checks a keystore file.
 *
 * @throws KeystoreError if it is missing or not a pbj keystore.
 * @example
 * readKeystore('.pbj/operator.json').address // '0x3C44…'
 */
export function readKeystore(path: string): Keystore {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new KeystoreError(`Cannot read the keystore at ${path}`, {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      hint: 'Create one with `pbj keys create` or `pbj keys import`, or fix operatorKeystore in pbj.config.ts.',
    })
  }
  const k = parsed as Partial<Keystore>
  const c = k?.crypto
  const hex = (v: unknown) => typeof v === 'string' && /^[0-9a-f]*$/i.test(v) && v.length > 0
  const p = c?.kdfparams
  const valid =
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
  if (!valid) throw new KeystoreError(`${path} is not a pbj keystore (version 1, scrypt, aes-256-gcm)`)
  return parsed as Keystore
}

/**
 * Writes a keystore file readable by its owner only (0600). Refuses to overwrite one unless `force`.
 *
 * @example
 * writeKeystore('.pbj/operator.json', await encryptKey(key, passphrase))
 */
export function writeKeystore(path: string, keystore: Keystore, options: { force?: boolean } = {}): void {
  if (existsSync(path) && !options.force) {
    throw new KeystoreError(`A keystore already exists at ${path}`, {
      hint: 'Export it first (`pbj keys export`), then pass --force to replace it, or choose another --file.',
    })
  }
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600 })
}

/**
 * The operator's private key from the config: `operatorKey` as is, or `operatorKeystore` decrypted with
 * the passphrase (default: `PBJ_KEY_PASSPHRASE`). Null when neither is set.
 *
 * @example
 * const key = await loadOperatorKey({ operatorKeystore: '.pbj/operator.json' })
 */
export async function loadOperatorKey(config: {
  operatorKey?: string | undefined
  operatorKeystore?: string | undefined
  passphrase?: string | undefined
}): Promise<Hex | null> {
  if (config.operatorKey && config.operatorKeystore) {
    throw new KeystoreError('operatorKey and operatorKeystore are both set', {
      hint: 'Keep one: operatorKeystore keeps the key encrypted at rest.',
    })
  }
  if (config.operatorKey) return config.operatorKey as Hex
  if (!config.operatorKeystore) return null
  const keystore = readKeystore(config.operatorKeystore)
  return decryptKey(keystore, config.passphrase ?? process.env[passphraseEnv], config.operatorKeystore)
}
