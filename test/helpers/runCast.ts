import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const require = createRequire(import.meta.url)
// Foundry publishes one npm package per platform, named with Go-style arch names (as for Anvil).
const arch = process.arch === 'x64' ? 'amd64' : process.arch
const packageJson = require.resolve(`@foundry-rs/cast-${process.platform}-${arch}/package.json`)
/** The real `cast` binary from @foundry-rs/cast (not its node wrapper), for tests that check pbj against it. */
export const castBinary = join(
  dirname(packageJson),
  'bin',
  process.platform === 'win32' ? 'cast.exe' : 'cast',
)

/**
 * Runs `cast …` and returns its standard output; rejects with its stderr when it exits non-zero.
 *
 * @example
 * await runCast(['wallet', 'decrypt-keystore', '-k', dir, 'operator.keystore.json', '--unsafe-password', pw])
 */
export async function runCast(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(castBinary, args, { env: { ...process.env, NO_COLOR: '1' } })
  return stdout
}
