import { join } from 'node:path'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { checkPassphraseStrength } from '../../actions/relayer/checkPassphraseStrength.js'
import { encryptKey, openKeystore, writeKeystore } from '../../actions/relayer/keystore.js'
import { InvalidPrivateKeyError, passphraseEnv } from '../../actions/relayer/keystoreErrors.js'
import { loadConfig } from '../../config/loadConfig.js'
import { UnknownSubcommandError } from '../../internal/errors.js'
import { toJsonLine } from '../../internal/toJsonLine.js'

type KeysOptions = {
  /** `create`, `import` or `export`. */
  args?: string[]
  dir?: string | undefined
  /** The keystore file; default: the config's `operatorKeystore`, else `.pbj/operator.keystore.json`. */
  file?: string | undefined
  force?: boolean
  json?: boolean
  /** Reads the key to import (default: standard input, so it never shows in the process list). */
  readInput?: () => Promise<string>
  /** The passphrase (default: PBJ_KEY_PASSPHRASE). */
  passphrase?: string | undefined
  /** scrypt cost (tests lower it). */
  scryptN?: number
  write?: (text: string) => void
}

/**
 * `pbj keys create | import | export`: the operator key, encrypted at rest with the passphrase in
 * `PBJ_KEY_PASSPHRASE` as a Web3 Secret Storage v3 keystore (scrypt, AES-128-CTR: `cast wallet` and geth
 * open it, and pbj opens theirs); `create` and `import` refuse a weak passphrase
 * (checkPassphraseStrength). `create` makes a new key, `import` encrypts one read from
 * standard input, `export` prints the private key (and rewrites a file in pbj's old format as v3): moving pbj elsewhere keeps the same operator address, so
 * no on-chain permission has to be granted again.
 *
 * @example
 * // PBJ_KEY_PASSPHRASE=… pbj keys create --dir .
 * await keysCommand({ args: ['create'], dir: '.' })
 */
export async function keysCommand(o: KeysOptions): Promise<number> {
  const dir = o.dir ?? process.cwd()
  const [sub] = o.args ?? []
  const write = o.write ?? ((text: string) => void process.stdout.write(text))
  if (sub !== 'create' && sub !== 'import' && sub !== 'export') {
    throw new UnknownSubcommandError({
      command: 'keys',
      sub,
      expected: ['create', 'import', 'export'],
      hint: `Run \`${passphraseEnv}=… pbj keys create --dir <project>\`.`,
    })
  }
  const { config } = await loadConfig(dir)
  const file = o.file ?? config.operatorKeystore ?? join(dir, '.pbj', 'operator.keystore.json')
  const passphrase = o.passphrase ?? process.env[passphraseEnv]
  const scrypt = o.scryptN === undefined ? {} : { n: o.scryptN }
  if (sub === 'export') {
    const { privateKey, address } = await openKeystore(file, passphrase)
    write(o.json ? toJsonLine({ address, privateKey }) : `${privateKey}\n`)
    process.stderr.write(
      'pbj keys: that is the operator private key; whoever holds it can send as the operator. Keep it secret.\n',
    )
    return 0
  }
  let privateKey: Hex
  if (sub === 'create') {
    privateKey = generatePrivateKey()
  } else {
    const text = (await (o.readInput ?? readStdin)()).trim()
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(text)) {
      throw new InvalidPrivateKeyError({ source: 'stdin' })
    }
    privateKey = (text.startsWith('0x') ? text : `0x${text}`) as Hex
  }
  checkPassphraseStrength(passphrase)
  writeKeystore(file, await encryptKey(privateKey, passphrase, scrypt), { force: o.force ?? false })
  const address = privateKeyToAddress(privateKey)
  write(
    o.json
      ? toJsonLine({ address, file })
      : `operator ${address}\nkeystore ${file}\nset operatorKeystore: '${file}' in pbj.config.ts, and ${passphraseEnv} when pbj starts\n`,
  )
  return 0
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Paste the private key, then press Enter and Ctrl-D:\n')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
