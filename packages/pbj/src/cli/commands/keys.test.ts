import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { loadOperatorKey } from '../../actions/relayer/keystore.js'
import { loadConfig } from '../../config/loadConfig.js'
import { main } from '../main.js'
import { keysCommand } from './keys.js'

const dir = mkdtempSync(join(tmpdir(), 'pbj-keys-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `pbj …` and returns its exit code, stdout and stderr. */
async function pbj(args: string[]) {
  const out: string[] = []
  const err: string[] = []
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((t) => out.push(String(t)) > 0)
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((t) => err.push(String(t)) > 0)
  try {
    const code = await main(args)
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    stdout.mockRestore()
    stderr.mockRestore()
  }
}

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
})
