import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'esbuild'

/** Marks esbuild errors raised because an import is not available in the sandbox. */
export const sandboxImportDetail = 'pbj:sandbox-import'

const shimPath = fileURLToPath(new URL('../function/shim.ts', import.meta.url))
const pbjRoot = fileURLToPath(new URL('../..', import.meta.url))
const builtins = new Set(builtinModules)

// Packages that only make sense in the host: network clients, native addons, pbj's own machinery.
// Functions reach the chain, devices and storage through ctx instead.
const hostOnly = [
  'viem',
  'mqtt',
  'aedes',
  'better-sqlite3',
  'isolated-vm',
  'esbuild',
  'tsx',
  'ws',
  'undici',
  'axios',
  'node-fetch',
  'ethers',
  'web3',
  '@foundry-rs',
]

function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier)
}

function isUnavailable(specifier: string): boolean {
  if (specifier.startsWith('node:') || builtins.has(specifier)) return true
  const name = packageName(specifier)
  return builtins.has(name) || hostOnly.includes(name) || hostOnly.includes(name.split('/')[0] ?? name)
}

/**
 * esbuild plugin for bundling a function into the sandbox: `pbj` and `pbj/function` resolve to the
 * shim, Node builtins and host-only packages are refused, and `@pbj/contracts` falls back to pbj's own
 * copy when the project does not install it.
 *
 * @example
 * await esbuild.build({ entryPoints: [file], bundle: true, plugins: [sandboxPlugin()] })
 */
export function sandboxPlugin(): Plugin {
  return {
    name: 'pbj-sandbox',
    setup(build) {
      build.onResolve({ filter: /^pbj(\/function)?$/ }, () => ({ path: shimPath }))
      build.onResolve({ filter: /^@pbj\/contracts(\/.*)?$/ }, async (args) => {
        if (args.pluginData === 'fallback') return undefined
        const options = { kind: args.kind, importer: args.importer, pluginData: 'fallback' }
        const local = await build.resolve(args.path, { ...options, resolveDir: args.resolveDir })
        if (local.errors.length === 0) return local
        return build.resolve(args.path, { ...options, resolveDir: pbjRoot })
      })
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('pbj/') && args.path !== 'pbj/function') {
          return { errors: [{ text: args.path, detail: sandboxImportDetail }] }
        }
        if (!isUnavailable(args.path)) return undefined
        return { errors: [{ text: args.path, detail: sandboxImportDetail }] }
      })
    },
  }
}
