import { messageOf } from '@pbj/internal/messageOf.js'
import type ivm from 'isolated-vm'
import { displayPath } from '../internal/displayPath.js'
import { FunctionBuildError } from '../internal/errors.js'

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
    const reason = isolate.isDisposed
      ? 'ran out of memory while loading'
      : `threw while loading: ${messageOf(error)}`
    throw new FunctionBuildError(`${displayPath(file)} ${reason}`, {
      details: error instanceof Error ? error.stack : undefined,
      hint: 'Top-level code of a function file runs when it is loaded; keep it to imports and constants.',
      cause: error,
      meta: { file },
    })
  }
}

/** The filename the sandbox gives a bundle's script, as it appears in stack frames. */
export function bundleFilename(file: string): string {
  return `pbj-function:${file}`
}
