// The operator key at rest, as a Web3 Secret Storage v3 keystore: the format geth, `cast wallet`, MetaMask
// and ethers write and read, so an operator can move a key between pbj and those tools. The format is a
// page of JSON around three primitives, and they come from kept libraries: scrypt, PBKDF2 and AES-128-CTR
// from node:crypto (OpenSSL: native, and run on libuv's pool, so the engine's loop is not held for the
// ~0.5 s a strong scrypt takes — @noble/hashes' scrypt in JS would hold it for seconds), keccak-256 for
// the MAC from @noble/hashes, already a dependency. The web3/ethers keystore packages were passed over:
// each brings its whole library (and a JS scrypt) for these ~100 lines.
import {
  createCipheriv,
  createDecipheriv,
  pbkdf2 as pbkdf2Callback,
  randomBytes,
  randomUUID,
  scrypt as scryptCallback,
  timingSafeEqual,
} from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3'
import { type Address, getAddress, type Hex, isHex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import {
  InvalidPrivateKeyError,
  KeystoreAddressError,
  KeystoreExistsError,
  KeystoreFormatError,
  KeystoreMigrationError,
  KeystoreParamsError,
  KeystoreReadError,
  NoPassphraseError,
  OperatorKeyConflictError,
  passphraseEnv,
  WrongPassphraseError,
} from './keystoreErrors.js'
import { decryptLegacyKeystore, isLegacyKeystore, type LegacyKeystore } from './legacyKeystore.js'

type ScryptParams = { dklen: number; n: number; r: number; p: number; salt: string }
type Pbkdf2Params = { dklen: number; c: number; prf: 'hmac-sha256'; salt: string }
type Kdf = { kdf: 'scrypt'; kdfparams: ScryptParams } | { kdf: 'pbkdf2'; kdfparams: Pbkdf2Params }

/**
 * A Web3 Secret Storage v3 keystore: a key derived from the passphrase (scrypt or PBKDF2) encrypts the
 * private key with AES-128-CTR; keccak-256 of the derived key's second half and the ciphertext is the MAC
 * that tells a wrong passphrase. Hex fields are without 0x.
 */
export type Keystore = {
  version: 3
  id: string
  /** The key's address (lowercase, no 0x), as geth writes it; optional (cast omits it), not authenticated. */
  address?: string
  crypto: {
    cipher: 'aes-128-ctr'
    cipherparams: { iv: string }
    ciphertext: string
    mac: string
  } & Kdf
}

/** scrypt cost: N = 2^17, r = 8 (128 MiB, ~0.3–0.6 s here), between geth's "light" (2^12) and standard (2^18). */
const defaultN = 2 ** 17

/**
 * The key a keystore's KDF derives from a passphrase (NFKC-normalised, as geth and ethers do).
 * Also opens pbj's old format, which used the same scrypt.
 */
async function deriveKey(passphrase: string, kdf: Kdf): Promise<Buffer> {
  const password = passphrase.normalize('NFKC')
  const salt = Buffer.from(kdf.kdfparams.salt, 'hex')
  return new Promise<Buffer>((resolve, reject) => {
    // A file's own parameters can be out of range (N not a power of two, more memory than allowed).
    const done = (error: Error | null, key: Buffer) =>
      error ? reject(new KeystoreParamsError({ kdf: kdf.kdf, cause: error })) : resolve(key)
    if (kdf.kdf === 'pbkdf2') {
      const p = kdf.kdfparams
      return pbkdf2Callback(password, salt, p.c, p.dklen, 'sha256', done)
    }
    const p = kdf.kdfparams
    // maxmem: Node's 32 MiB default is below what N = 2^17 needs (128 · N · r bytes).
    scryptCallback(
      password,
      salt,
      p.dklen,
      { N: p.n, r: p.r, p: p.p, maxmem: 256 * p.n * p.r + 2 ** 20 },
      done,
    )
  })
}

const macOf = (derivedKey: Buffer, ciphertext: Buffer) =>
  Buffer.from(keccak_256(Buffer.concat([derivedKey.subarray(16, 32), ciphertext])))

const checkPassphrase = (passphrase: string | undefined): string => {
  if (!passphrase) throw new NoPassphraseError()
  return passphrase
}

/**
 * Encrypts a private key with a passphrase into a v3 keystore (scrypt, AES-128-CTR, keccak MAC).
 *
 * @example
 * const keystore = await encryptKey(generatePrivateKey(), process.env.PBJ_KEY_PASSPHRASE)
 * writeKeystore('.pbj/operator.keystore.json', keystore)
 */
export async function encryptKey(
  privateKey: Hex,
  passphrase: string | undefined,
  options: { n?: number } = {},
): Promise<Keystore> {
  if (!isHex(privateKey) || privateKey.length !== 66) {
    throw new InvalidPrivateKeyError({ source: 'argument' })
  }
  const kdfparams = { dklen: 32, n: options.n ?? defaultN, r: 8, p: 1, salt: randomBytes(32).toString('hex') }
  const key = await deriveKey(checkPassphrase(passphrase), { kdf: 'scrypt', kdfparams })
  const iv = randomBytes(16)
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), iv)
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()])
  return {
    version: 3,
    id: randomUUID(),
    address: privateKeyToAddress(privateKey).slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: iv.toString('hex') },
      ciphertext: ciphertext.toString('hex'),
      kdf: 'scrypt',
      kdfparams,
      mac: macOf(key, ciphertext).toString('hex'),
    },
  }
}

/**
 * Decrypts a v3 keystore with its passphrase.
 *
 * @throws WrongPassphraseError when the MAC does not match; KeystoreError when there is no passphrase or
 *   the key is not the file's `address`.
 * @example
 * const privateKey = await decryptKey(readKeystore('.pbj/operator.keystore.json'), process.env.PBJ_KEY_PASSPHRASE)
 */
export async function decryptKey(
  keystore: Keystore,
  passphrase: string | undefined,
  source = 'the keystore',
): Promise<Hex> {
  const c = keystore.crypto
  const key = await deriveKey(checkPassphrase(passphrase), c)
  const ciphertext = Buffer.from(c.ciphertext, 'hex')
  const mac = Buffer.from(c.mac, 'hex')
  const expected = macOf(key, ciphertext)
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected))
    throw new WrongPassphraseError(source)
  const decipher = createDecipheriv('aes-128-ctr', key.subarray(0, 16), Buffer.from(c.cipherparams.iv, 'hex'))
  const privateKey =
    `0x${Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('hex')}` as Hex
  // The address is outside the MAC: a swapped one would show the wrong operator, so it must match the key.
  if (
    keystore.address !== undefined &&
    privateKeyToAddress(privateKey) !== getAddress(`0x${keystore.address}`)
  ) {
    throw new KeystoreAddressError({ source, address: `0x${keystore.address}` })
  }
  return privateKey
}

const isHexField = (v: unknown, length?: number) =>
  typeof v === 'string' && /^[0-9a-f]+$/i.test(v) && (length === undefined || v.length === length)

/** Whether a parsed file is a v3 keystore pbj can open; geth's older files spell `crypto` as `Crypto`. */
function toKeystore(value: unknown): Keystore | null {
  const k = value as (Partial<Keystore> & { Crypto?: Keystore['crypto'] }) | null
  const c = k?.crypto ?? k?.Crypto
  const p = c?.kdfparams as Partial<ScryptParams & Pbkdf2Params> | undefined
  const kdfOk =
    c?.kdf === 'scrypt'
      ? Number.isInteger(p?.n) && Number.isInteger(p?.r) && Number.isInteger(p?.p)
      : c?.kdf === 'pbkdf2' && Number.isInteger(p?.c) && p?.prf === 'hmac-sha256'
  const valid =
    k?.version === 3 &&
    (k.address === undefined ||
      (typeof k.address === 'string' && isHexField(k.address.replace(/^0x/, ''), 40))) &&
    c?.cipher === 'aes-128-ctr' &&
    isHexField(c.cipherparams?.iv, 32) &&
    isHexField(c.ciphertext, 64) &&
    isHexField(c.mac, 64) &&
    kdfOk &&
    isHexField(p?.salt) &&
    typeof p?.dklen === 'number' &&
    p.dklen >= 32
  if (!valid) return null
  const { Crypto: _, ...rest } = k as Keystore & { Crypto?: unknown }
  return {
    ...rest,
    ...(k.address === undefined ? {} : { address: k.address.replace(/^0x/, '').toLowerCase() }),
    crypto: c,
  } as Keystore
}

/** Reads a keystore file: a v3 keystore, or one in pbj's old format (which only `openKeystore` migrates). */
function readKeystoreFile(path: string): Keystore | LegacyKeystore {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new KeystoreReadError({ path, cause })
  }
  if (isLegacyKeystore(parsed)) return parsed
  const keystore = toKeystore(parsed)
  if (!keystore) throw new KeystoreFormatError({ path, format: 'unknown' })
  return keystore
}

/**
 * Reads and checks a v3 keystore file (pbj's own, or one from geth, `cast wallet new`, ethers…).
 *
 * @throws KeystoreError if it is missing, not a keystore, or in pbj's old format (open it with
 *   `openKeystore`, which rewrites it).
 * @example
 * readKeystore('.pbj/operator.keystore.json').crypto.kdf // 'scrypt'
 */
export function readKeystore(path: string): Keystore {
  const keystore = readKeystoreFile(path)
  if (keystore.version === 1) throw new KeystoreFormatError({ path, format: 'legacy' })
  return keystore
}

/**
 * Writes a keystore file readable by its owner only (0600). Refuses to overwrite one unless `force`.
 * Writes a temporary file and renames it over, so a crash leaves the old file or the new, never half.
 *
 * @example
 * writeKeystore('.pbj/operator.keystore.json', await encryptKey(key, passphrase))
 */
export function writeKeystore(path: string, keystore: Keystore, options: { force?: boolean } = {}): void {
  if (existsSync(path) && !options.force) throw new KeystoreExistsError({ path })
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600 })
  renameSync(temporary, path)
}

/**
 * Opens a keystore file with its passphrase. A file in pbj's old format (scrypt + AES-256-GCM) is decrypted,
 * rewritten in place as v3 with the same passphrase and scrypt cost — checked to open to the same key first —
 * and `onMigrated` is told; after that, `cast wallet decrypt-keystore` and geth open it too.
 *
 * @throws WrongPassphraseError, or KeystoreError (missing file, not a keystore, no passphrase).
 * @example
 * const { privateKey, address } = await openKeystore('.pbj/operator.keystore.json', process.env.PBJ_KEY_PASSPHRASE)
 */
export async function openKeystore(
  path: string,
  passphrase: string | undefined,
  options: { onMigrated?: (message: string) => void } = {},
): Promise<{ privateKey: Hex; address: Address; migrated: boolean }> {
  const keystore = readKeystoreFile(path)
  if (keystore.version === 3) {
    const privateKey = await decryptKey(keystore, passphrase, path)
    return { privateKey, address: privateKeyToAddress(privateKey), migrated: false }
  }
  const secret = checkPassphrase(passphrase)
  const legacy = decryptLegacyKeystore(keystore, await deriveKey(secret, keystore.crypto))
  if (legacy === null) throw new WrongPassphraseError(path)
  if (privateKeyToAddress(legacy) !== getAddress(keystore.address)) {
    throw new KeystoreAddressError({ source: path, address: keystore.address })
  }
  const rewritten = await encryptKey(legacy, secret, { n: keystore.crypto.kdfparams.n })
  if ((await decryptKey(rewritten, secret, path)) !== legacy) {
    throw new KeystoreMigrationError({ path })
  }
  writeKeystore(path, rewritten, { force: true })
  const report = options.onMigrated ?? ((message: string) => void process.stderr.write(`pbj: ${message}\n`))
  report(
    `rewrote ${path} from pbj's old keystore format as Web3 Secret Storage v3 (same key ${keystore.address}, same passphrase)`,
  )
  return { privateKey: legacy, address: privateKeyToAddress(legacy), migrated: true }
}

/**
 * The operator's private key from the config: `operatorKey` as is, or `operatorKeystore` opened with
 * the passphrase (default: `PBJ_KEY_PASSPHRASE`; an old-format file is rewritten as v3). Null when neither is set.
 *
 * @example
 * const key = await loadOperatorKey({ operatorKeystore: '.pbj/operator.keystore.json' })
 */
export async function loadOperatorKey(config: {
  operatorKey?: string | undefined
  operatorKeystore?: string | undefined
  passphrase?: string | undefined
  onMigrated?: (message: string) => void
}): Promise<Hex | null> {
  if (config.operatorKey && config.operatorKeystore) {
    throw new OperatorKeyConflictError()
  }
  if (config.operatorKey) return config.operatorKey as Hex
  if (!config.operatorKeystore) return null
  const passphrase = config.passphrase ?? process.env[passphraseEnv]
  const options = config.onMigrated ? { onMigrated: config.onMigrated } : {}
  return (await openKeystore(config.operatorKeystore, passphrase, options)).privateKey
}
