import { dirname, resolve } from 'node:path'
import { build, type Message } from 'esbuild'
import { displayPath } from '../internal/displayPath.js'
import { FunctionBuildError } from '../internal/errors.js'
import { FunctionBundleError, FunctionSyntaxError, SandboxImportError } from './functionLoadErrors.js'
import { sandboxImportDetail, sandboxPlugin } from './sandboxPlugin.js'

/** The global the bundle assigns its module namespace to; the sandbox reads `default` from it. */
export const bundleGlobal = '__pbj_module'

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
  const frame = codeFrame(message)
  if (message.detail === sandboxImportDetail)
    return new SandboxImportError({ file, at, module: message.text, codeFrame: frame, cause })
  return new FunctionSyntaxError({ file, at, text: message.text, codeFrame: frame, cause })
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
    if (!output) throw new FunctionBundleError({ file, problem: 'no-output' })
    return output.text
  } catch (error) {
    if (error instanceof FunctionBuildError) throw error
    const first = (error as { errors?: Message[] }).errors?.[0]
    if (first) throw toBuildError(first, entry, error)
    throw new FunctionBundleError({ file, problem: 'failed', cause: error })
  }
}
