import type ivm from 'isolated-vm'
import { FunctionEvalError } from './functionLoadErrors.js'

/**
 * Runs a bundle's top-level code in `context` (user code: bounded by `timeoutMs`), naming the file when
 * it throws. The script's filename is `pbj-function:<file>` so stack frames can be mapped back.
 *
 * @example
 * await evaluateBundle(isolate, context, code, 'functions/lock.ts', 1000)
 */
export async function evaluateBundle(
  isolate: ivm.Isolate,
  context: ivm.Context,
  code: string,
  file: string,
  timeoutMs: number,
): Promise<void> {
  try {
    const script = await isolate.compileScript(code, { filename: bundleFilename(file) })
    await script.run(context, { timeout: timeoutMs })
    script.release()
  } catch (error) {
    throw new FunctionEvalError({
      file,
      problem: isolate.isDisposed ? 'out-of-memory' : 'threw',
      cause: error,
    })
  }
}

/** The filename the sandbox gives a bundle's script, as it appears in stack frames. */
export function bundleFilename(file: string): string {
  return `pbj-function:${file}`
}
