import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { ConfigFileError } from '../internal/errors.js'
import type { PbjConfig } from './schema.js'
import { validateConfig } from './validateConfig.js'

const configExportsFile = fileURLToPath(new URL('./configExports.ts', import.meta.url))
const names = ['pbj.config.ts', 'pbj.config.mts', 'pbj.config.js', 'pbj.config.mjs', 'pbj.config.json']

/**
 * Finds and loads the project's config (`pbj.config.ts`, `.js`, `.mjs` or `.json`) and validates it.
 * No config file means embedded defaults. Relative paths in it are resolved from `dir`.
 *
 * @example
 * const { config, file } = await loadConfig(process.cwd())
 */
export async function loadConfig(dir: string): Promise<{ config: PbjConfig; file: string | null }> {
  const name = names.find((n) => existsSync(join(dir, n)))
  if (!name) return { config: {}, file: null }
  const file = join(dir, name)
  let raw: unknown
  if (name.endsWith('.json')) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'))
    } catch (cause) {
      throw new ConfigFileError({ file: name, problem: 'json', cause })
    }
  } else {
    raw = await importTs(file, name)
  }
  const config = validateConfig(raw, name)
  for (const key of ['database', 'functions', 'operatorKeystore'] as const) {
    const v = config[key]
    if (v && v !== ':memory:') config[key] = resolve(dir, v)
  }
  return { config, file }
}

async function importTs(file: string, name: string): Promise<unknown> {
  // Written beside the config so its own imports resolve from the project's node_modules.
  await mkdir(join(dirname(file), '.pbj'), { recursive: true })
  const out = await mkdtemp(join(dirname(file), '.pbj', 'config-'))
  try {
    const result = await build({
      entryPoints: [file],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      packages: 'external',
      // `pbj` itself may be TypeScript source; the config gets configExports.ts bundled in.
      plugins: [
        {
          name: 'pbj-config',
          setup(b) {
            b.onResolve({ filter: /^pbj$/ }, () => ({ path: configExportsFile }))
          },
        },
      ],
    }).catch((cause: { errors?: { text: string; location?: { line: number; column: number } | null }[] }) => {
      const e = cause.errors?.[0]
      const at = e?.location ? `:${e.location.line}:${e.location.column}` : ''
      throw new ConfigFileError({ file: name, problem: 'syntax', at, text: e?.text ?? String(cause), cause })
    })
    const target = join(out, 'config.mjs')
    await writeFile(target, result.outputFiles[0]?.text ?? '')
    const mod = (await import(pathToFileURL(target).href)) as { default?: unknown }
    if (mod.default === undefined) {
      throw new ConfigFileError({ file: name, problem: 'no-default-export' })
    }
    return mod.default
  } finally {
    await rm(out, { recursive: true, force: true })
  }
}
