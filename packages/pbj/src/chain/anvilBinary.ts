import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { AnvilError } from '../internal/errors.js'

const require = createRequire(import.meta.url)

// Foundry publishes one npm package per platform, named with Go-style arch names.
const archNames: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64' }

/**
 * The npm package holding Anvil's binary for this platform, e.g. `@foundry-rs/anvil-linux-amd64`.
 *
 * @example
 * anvilPackageName('linux', 'x64') // '@foundry-rs/anvil-linux-amd64'
 */
export function anvilPackageName(
  platform: NodeJS.Platform = process.platform,
  arch: NodeJS.Architecture = process.arch,
): string {
  return `@foundry-rs/anvil-${platform}-${archNames[arch] ?? arch}`
}

/**
 * Absolute path of the Anvil executable from `@foundry-rs/anvil`'s platform package.
 *
 * pbj runs this binary directly rather than the `anvil` node wrapper: killing the wrapper leaves the real
 * Anvil running.
 *
 * @example
 * const bin = resolveAnvilBinary() // …/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
 */
export function resolveAnvilBinary(): string {
  const packageName = anvilPackageName()
  let manifestPath: string
  try {
    manifestPath = require.resolve(`${packageName}/package.json`)
  } catch (cause) {
    throw new AnvilError({ problem: 'not-installed', packageName, cause })
  }
  const binary = join(dirname(manifestPath), binPathOf(manifestPath))
  if (!existsSync(binary)) {
    throw new AnvilError({ problem: 'binary-missing', packageName, binary })
  }
  return binary
}

/** Reads the manifest's `bin` entry so a renamed binary (anvil.exe on Windows) is still found. */
function binPathOf(manifestPath: string): string {
  const fallback = process.platform === 'win32' ? 'bin/anvil.exe' : 'bin/anvil'
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      bin?: string | Record<string, string>
    }
    if (typeof manifest.bin === 'string') return manifest.bin
    return manifest.bin?.anvil ?? manifest.bin?.['anvil.exe'] ?? fallback
  } catch {
    return fallback
  }
}
