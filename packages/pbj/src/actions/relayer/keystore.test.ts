import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import {
  decryptKey,
  encryptKey,
  KeystoreError,
  loadOperatorKey,
  readKeystore,
  writeKeystore,
} from './keystore.js'

const dir = mkdtempSync(join(tmpdir(), 'pbj-keystore-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
// A low scrypt cost keeps the tests fast; the default is 2^17.
const fast = { n: 2 ** 12 }

describe('keystore', () => {
  it('round-trips a key through a file, without the key in clear on disk', async () => {
    const key = generatePrivateKey()
    const file = join(dir, 'operator.json')
    writeKeystore(file, await encryptKey(key, 'correct horse', fast))
    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain(key.slice(2))
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const keystore = readKeystore(file)
    expect(keystore.address).toBe(privateKeyToAddress(key))
    expect(keystore.crypto.kdf).toBe('scrypt')
    expect(await decryptKey(keystore, 'correct horse')).toBe(key)
    expect(await loadOperatorKey({ operatorKeystore: file, passphrase: 'correct horse' })).toBe(key)
  })

  it('uses a fresh salt and iv every time', async () => {
    const key = generatePrivateKey()
    const a = await encryptKey(key, 'pw', fast)
    const b = await encryptKey(key, 'pw', fast)
    expect(a.crypto.kdfparams.salt).not.toBe(b.crypto.kdfparams.salt)
    expect(a.crypto.iv).not.toBe(b.crypto.iv)
    expect(a.crypto.ciphertext).not.toBe(b.crypto.ciphertext)
  })

  it('refuses a wrong passphrase with a clear error', async () => {
    const keystore = await encryptKey(generatePrivateKey(), 'right', fast)
    const error = await decryptKey(keystore, 'wrong', 'ops.json').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeystoreError)
    expect((error as KeystoreError).shortMessage).toBe(
      'Wrong passphrase for ops.json (or the file was altered)',
    )
    expect((error as KeystoreError).hint).toContain('PBJ_KEY_PASSPHRASE')
    await expect(decryptKey(keystore, undefined)).rejects.toThrow('No passphrase')
  })

  it('detects a swapped address or an altered ciphertext', async () => {
    const keystore = await encryptKey(generatePrivateKey(), 'pw', fast)
    const swapped = { ...keystore, address: privateKeyToAddress(generatePrivateKey()) }
    await expect(decryptKey(swapped, 'pw')).rejects.toBeInstanceOf(KeystoreError)
    const flipped = keystore.crypto.ciphertext.startsWith('0')
      ? `1${keystore.crypto.ciphertext.slice(1)}`
      : `0${keystore.crypto.ciphertext.slice(1)}`
    await expect(
      decryptKey({ ...keystore, crypto: { ...keystore.crypto, ciphertext: flipped } }, 'pw'),
    ).rejects.toThrow('Wrong passphrase')
  })

  it('refuses to overwrite a keystore, and files that are not keystores', async () => {
    const file = join(dir, 'twice.json')
    writeKeystore(file, await encryptKey(generatePrivateKey(), 'pw', fast))
    expect(() => writeKeystore(file, readKeystore(file))).toThrow('already exists')
    const junk = join(dir, 'junk.json')
    writeFileSync(junk, '{"version":1}')
    expect(() => readKeystore(junk)).toThrow('is not a pbj keystore')
    expect(() => readKeystore(join(dir, 'missing.json'))).toThrow('Cannot read the keystore')
  })

  it('takes a plain operatorKey, refuses both at once, and returns null without either', async () => {
    const key = generatePrivateKey()
    expect(await loadOperatorKey({ operatorKey: key })).toBe(key)
    await expect(loadOperatorKey({ operatorKey: key, operatorKeystore: '/nope' })).rejects.toThrow('both set')
    expect(await loadOperatorKey({})).toBeNull()
  })
})
