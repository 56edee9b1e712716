import { dirname, resolve } from 'node:path'
import { build, type Message } from 'esbuild'
import { displayPath } from '../internal/displayPath.js'
import { FunctionBuildError } from '../internal/errors.js'
import { sandboxImportDetail, sandboxPlugin } from './sandboxPlugin.js'

/** The global the bundle assigns its module namespace to; the sandbox reads `default` from it. */
export const bundleGlobal = '__pbj_module'

const ctxHint =
  'Functions run in a sandbox without Node, the network or npm clients. Use ctx instead: ctx.chain.read for ' +
  'contract state, ctx.devices.lock/unlock/warn/get for devices, ctx.kv for storage, ctx.log for logs, ' +
  'ctx.secrets for secrets.'

function where(message: Message, file: string): string {
  const loc = message.location
  if (!loc) return displayPath(file)
  return `${displayPath(resolve(dirname(file), loc.file))}:${loc.line}:${loc.column + 1}`
}

function codeFrame(message: Message): string | undefined {
  const loc = message.location
  if (!loc) return undefined
  return `${loc.line} | ${loc.lineText}\n${' '.repeat(String(loc.line).length)} | ${' '.repeat(loc.column)}^`
}

function toBuildError(message: Message, file: string, cause: unknown): FunctionBuildError {
  const at = where(message, file)
  const details = codeFrame(message)
  if (message.detail === sandboxImportDetail) {
    const name = message.text
    return new FunctionBuildError(
      `${at}: cannot import '${name}': functions run in a sandbox, where '${name}' is not available`,
      {
        details,
        hint: ctxHint,
        cause,
        meta: { file },
      },
    )
  }
  const unresolved = message.text.startsWith('Could not resolve')
  return new FunctionBuildError(`${at}: ${message.text}`, {
    details,
    hint: unresolved
      ? 'Check the import path. Packages must be installed in the project, and only pure JavaScript packages work in the sandbox.'
      : 'Fix the code at that line. Functions are TypeScript or JavaScript modules with a default export.',
    cause,
    meta: { file },
  })
}

/**
 * Bundles a function file and everything it imports into one script for the sandbox. The script sets
 * the global `__pbj_module` to the module namespace and carries an inline source map.
 *
 * @throws FunctionBuildError on syntax errors or imports the sandbox cannot offer (fs, viem, …)
 * @example
 * const code = await bundleFunction('functions/lockOnMissedPayment.ts')
 */
export async function bundleFunction(file: string): Promise<string> {
  const entry = resolve(file)
  try {
    const result = await build({
      entryPoints: [entry],
      absWorkingDir: dirname(entry),
      write: false,
      bundle: true,
      format: 'iife',
      globalName: bundleGlobal,
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      conditions: ['pbj', 'worker', 'module'],
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      plugins: [sandboxPlugin()],
    })
    const output = result.outputFiles[0]
    if (!output) throw new FunctionBuildError(`${displayPath(file)}: esbuild produced no output`)
    return output.text
  } catch (error) {
    if (error instanceof FunctionBuildError) throw error
    const first = (error as { errors?: Message[] }).errors?.[0]
    if (first) throw toBuildError(first, entry, error)
    throw new FunctionBuildError(`Could not build ${displayPath(file)}: ${String(error)}`, {
      cause: error,
      meta: { file },
    })
  }
}
