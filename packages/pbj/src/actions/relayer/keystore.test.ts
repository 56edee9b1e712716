import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { writeLegacyKeystore } from '../../../../../test/helpers/writeLegacyKeystore.js'
import {
  decryptKey,
  encryptKey,
  loadOperatorKey,
  openKeystore,
  readKeystore,
  writeKeystore,
} from './keystore.js'
import { KeystoreError, WrongPassphraseError } from './keystoreErrors.js'

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
    expect(keystore.version).toBe(3)
    expect(`0x${keystore.address}`).toBe(privateKeyToAddress(key).toLowerCase())
    expect(keystore.crypto.kdf).toBe('scrypt')
    expect(keystore.crypto.cipher).toBe('aes-128-ctr')
    expect(await decryptKey(keystore, 'correct horse')).toBe(key)
    expect(await loadOperatorKey({ operatorKeystore: file, passphrase: 'correct horse' })).toBe(key)
  })

  it('uses a fresh salt and iv every time', async () => {
    const key = generatePrivateKey()
    const a = await encryptKey(key, 'pw', fast)
    const b = await encryptKey(key, 'pw', fast)
    expect(a.crypto.kdfparams.salt).not.toBe(b.crypto.kdfparams.salt)
    expect(a.crypto.cipherparams.iv).not.toBe(b.crypto.cipherparams.iv)
    expect(a.crypto.ciphertext).not.toBe(b.crypto.ciphertext)
  })

  it('refuses a wrong passphrase with a clear error', async () => {
    const keystore = await encryptKey(generatePrivateKey(), 'right', fast)
    const error = await decryptKey(keystore, 'wrong', 'ops.json').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WrongPassphraseError)
    expect(error).toBeInstanceOf(KeystoreError)
    expect((error as KeystoreError).shortMessage).toBe(
      'Wrong passphrase for ops.json (or the file was altered)',
    )
    expect((error as KeystoreError).hint).toContain('PBJ_KEY_PASSPHRASE')
    await expect(decryptKey(keystore, undefined)).rejects.toThrow('No passphrase')
  })

  it('detects a swapped address or an altered ciphertext', async () => {
    const keystore = await encryptKey(generatePrivateKey(), 'pw', fast)
    const swapped = { ...keystore, address: privateKeyToAddress(generatePrivateKey()).slice(2) }
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
    expect(() => readKeystore(junk)).toThrow('is not a keystore pbj can open')
    expect(() => readKeystore(join(dir, 'missing.json'))).toThrow('Cannot read the keystore')
  })

  it('takes a plain operatorKey, refuses both at once, and returns null without either', async () => {
    const key = generatePrivateKey()
    expect(await loadOperatorKey({ operatorKey: key })).toBe(key)
    await expect(loadOperatorKey({ operatorKey: key, operatorKeystore: '/nope' })).rejects.toThrow('both set')
    expect(await loadOperatorKey({})).toBeNull()
  })

  it('opens the Web3 Secret Storage v3 test vector (PBKDF2), as geth and ethers do', async () => {
    // From the Web3 Secret Storage Definition (ethereum.org): password "testpassword".
    const file = join(dir, 'vector.json')
    writeFileSync(
      file,
      JSON.stringify({
        crypto: {
          cipher: 'aes-128-ctr',
          cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
          ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
          kdf: 'pbkdf2',
          kdfparams: {
            c: 262144,
            dklen: 32,
            prf: 'hmac-sha256',
            salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
          },
          mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
        },
        id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
        version: 3,
      }),
    )
    expect(await decryptKey(readKeystore(file), 'testpassword')).toBe(
      '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d',
    )
    await expect(decryptKey(readKeystore(file), 'testpasswort')).rejects.toBeInstanceOf(WrongPassphraseError)
  })

  it('rewrites a keystore in pbj’s old format as v3 once, keeping the key and the passphrase', async () => {
    const key = generatePrivateKey()
    const file = join(dir, 'old.json')
    await writeLegacyKeystore(file, key, 'old passphrase', fast.n)
    expect(() => readKeystore(file)).toThrow("pbj's old keystore format")
    await expect(openKeystore(file, 'wrong passphrase')).rejects.toBeInstanceOf(WrongPassphraseError)
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1) // untouched by a failed open
    const messages: string[] = []
    const opened = await openKeystore(file, 'old passphrase', { onMigrated: (m) => void messages.push(m) })
    expect(opened).toEqual({ privateKey: key, address: privateKeyToAddress(key), migrated: true })
    expect(messages).toEqual([expect.stringContaining('as Web3 Secret Storage v3')])
    expect(readKeystore(file).version).toBe(3)
    expect(readKeystore(file).crypto.kdfparams).toMatchObject({ n: fast.n })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(await openKeystore(file, 'old passphrase')).toMatchObject({ privateKey: key, migrated: false })
  })
})
