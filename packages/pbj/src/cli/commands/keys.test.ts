import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { runCast } from '../../../../../test/helpers/runCast.js'
import { runPbj } from '../../../../../test/helpers/runPbj.js'
import { writeLegacyKeystore } from '../../../../../test/helpers/writeLegacyKeystore.js'
import { loadOperatorKey } from '../../actions/relayer/keystore.js'
import { loadConfig } from '../../config/loadConfig.js'
import { keysCommand } from './keys.js'

const dir = mkdtempSync(join(tmpdir(), 'pbj-keys-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const pbj = (args: string[]) => runPbj(...args)

describe('pbj keys', () => {
  it('creates a keystore, exports the same key, and the config’s operatorKeystore decrypts to it', async () => {
    vi.stubEnv('PBJ_KEY_PASSPHRASE', 'a long passphrase')
    try {
      const created = await pbj(['keys', 'create', '--dir', dir, '--json'])
      expect(created.code).toBe(0)
      const { address, file } = JSON.parse(created.stdout) as { address: string; file: string }
      expect(file).toBe(join(dir, '.pbj', 'operator.keystore.json'))
      const exported = await pbj(['keys', 'export', '--dir', dir])
      expect(exported.code).toBe(0)
      const key = exported.stdout.trim() as `0x${string}`
      expect(privateKeyToAddress(key)).toBe(address)
      expect(readFileSync(file, 'utf8')).not.toContain(key.slice(2))
      expect(exported.stderr).toContain('private key')
      // The file is a standard Web3 Secret Storage v3 keystore: Foundry's cast opens it to the same key.
      const decrypted = await runCast([
        'wallet',
        'decrypt-keystore',
        '--keystore-dir',
        dirname(file),
        basename(file),
        '--unsafe-password',
        'a long passphrase',
      ])
      expect(decrypted.trim()).toBe(`${basename(file)}'s private key is: ${key}`)
      // …and `cast wallet address` reads the same operator address out of it.
      const castAddress = await runCast([
        'wallet',
        'address',
        '--keystore',
        file,
        '--password',
        'a long passphrase',
      ])
      expect(castAddress.trim()).toBe(address)
      // A second create would lose the key: refused.
      const again = await pbj(['keys', 'create', '--dir', dir])
      expect(again.code).toBe(1)
      expect(again.stderr).toContain('already exists')

      writeFileSync(
        join(dir, 'pbj.config.json'),
        JSON.stringify({ operatorKeystore: '.pbj/operator.keystore.json' }),
      )
      const { config } = await loadConfig(dir)
      expect(config.operatorKeystore).toBe(file)
      expect(await loadOperatorKey(config)).toBe(key)
    } finally {
      vi.unstubAllEnvs()
      rmSync(join(dir, 'pbj.config.json'), { force: true })
    }
  })

  it('refuses to create a keystore with a weak passphrase, and writes nothing', async () => {
    const file = join(dir, 'weak.json')
    for (const weak of ['x', 'password1234']) {
      vi.stubEnv('PBJ_KEY_PASSPHRASE', weak)
      try {
        const result = await pbj(['keys', 'create', '--dir', dir, '--file', file])
        expect(result.code).toBe(1)
        expect(result.stderr).toContain('The passphrase in PBJ_KEY_PASSPHRASE is too weak')
        expect(existsSync(file)).toBe(false)
      } finally {
        vi.unstubAllEnvs()
      }
    }
  })

  it('exits 1 with a clear message on a wrong passphrase', async () => {
    vi.stubEnv('PBJ_KEY_PASSPHRASE', 'not the passphrase')
    try {
      const result = await pbj(['keys', 'export', '--dir', dir])
      expect(result.code).toBe(1)
      expect(result.stdout).toBe('')
      expect(result.stderr).toContain('Wrong passphrase for')
      expect(result.stderr).not.toContain('0x')
      expect(result.stderr).toContain('PBJ_KEY_PASSPHRASE')
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('imports a key from standard input, and refuses what is not a key', async () => {
    const key = generatePrivateKey()
    const file = join(dir, 'imported.json')
    const out: string[] = []
    const options = {
      dir,
      file,
      passphrase: 'import test passphrase',
      scryptN: 2 ** 12,
      write: (t: string) => void out.push(t),
    }
    await keysCommand({ ...options, args: ['import'], readInput: async () => `${key.slice(2)}\n` })
    expect(out.join('')).toContain(privateKeyToAddress(key))
    out.length = 0
    await keysCommand({ ...options, args: ['export'] })
    expect(out.join('')).toBe(`${key}\n`)
    await expect(
      keysCommand({
        ...options,
        file: join(dir, 'bad.json'),
        args: ['import'],
        readInput: async () => 'hello',
      }),
    ).rejects.toThrow('reads a private key')
    await expect(keysCommand({ ...options, args: ['rotate'] })).rejects.toThrow('create, import or export')
  })

  it('opens a keystore made by `cast wallet new`', async () => {
    const castDir = join(dir, 'cast')
    mkdirSync(castDir)
    const made = await runCast(['wallet', 'new', castDir, '--unsafe-password', 'made by cast wallet'])
    const castAddress = /Address:\s+(0x[0-9a-fA-F]{40})/.exec(made)?.[1]
    const [name] = readdirSync(castDir)
    expect(castAddress).toBeDefined()
    vi.stubEnv('PBJ_KEY_PASSPHRASE', 'made by cast wallet')
    try {
      const file = join(castDir, name as string)
      const exported = await pbj(['keys', 'export', '--dir', dir, '--file', file, '--json'])
      expect(exported.code).toBe(0)
      const { address, privateKey } = JSON.parse(exported.stdout) as {
        address: string
        privateKey: `0x${string}`
      }
      expect(address).toBe(castAddress)
      expect(privateKeyToAddress(privateKey)).toBe(castAddress)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('rewrites a keystore in pbj’s old format as v3 on first use, with a message, and cast opens it after', async () => {
    const key = generatePrivateKey()
    const file = join(dir, 'legacy.json')
    await writeLegacyKeystore(file, key, 'an old long passphrase', 2 ** 12)
    vi.stubEnv('PBJ_KEY_PASSPHRASE', 'an old long passphrase')
    try {
      const first = await pbj(['keys', 'export', '--dir', dir, '--file', file])
      expect(first.code).toBe(0)
      expect(first.stdout).toBe(`${key}\n`)
      expect(first.stderr).toContain(
        `rewrote ${file} from pbj's old keystore format as Web3 Secret Storage v3`,
      )
      expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(3)
      const second = await pbj(['keys', 'export', '--dir', dir, '--file', file])
      expect(second.stdout).toBe(`${key}\n`)
      expect(second.stderr).not.toContain('rewrote')
      const decrypted = await runCast([
        'wallet',
        'decrypt-keystore',
        '--keystore-dir',
        dir,
        'legacy.json',
        '--unsafe-password',
        'an old long passphrase',
      ])
      expect(decrypted).toContain(key)
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
