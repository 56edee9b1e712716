import type ivm from 'isolated-vm'
import { bundleGlobal } from './bundleFunction.js'
import { FunctionDataNotPlainError, FunctionShapeError } from './functionLoadErrors.js'

/**
 * Reads what a bundle exported as default, as copied plain data, with a FunctionShapeError showing the
 * expected shape when there is no default export or no handler.
 *
 * @example
 * const info = await readDefinition(context, 'functions/lock.ts')
 */
export async function readDefinition(
  context: ivm.Context,
  file: string,
): Promise<{
  trigger: unknown
  limits: unknown
  retry: unknown
  capabilities: unknown
  hasOnReorg: boolean
}> {
  const shape: { exports: string[]; type: string; handler: string; onReorg: string } = await context.eval(
    `(() => {
      const m = globalThis.${bundleGlobal}
      const d = m == null ? undefined : m.default
      const kind = d === null ? 'null' : typeof d
      const exports = m == null ? [] : Object.keys(m).filter((k) => k !== 'default')
      if (kind !== 'object') return { exports, type: kind, handler: 'undefined', onReorg: 'undefined' }
      return { exports, type: kind, handler: typeof d.handler, onReorg: typeof d.onReorg }
    })()`,
    { copy: true, timeout: 1000 },
  )
  if (shape.type === 'undefined')
    throw new FunctionShapeError({ file, problem: 'no-default-export', exports: shape.exports })
  if (shape.type !== 'object') throw new FunctionShapeError({ file, problem: 'not-object', type: shape.type })
  if (shape.handler !== 'function')
    throw new FunctionShapeError({ file, problem: 'no-handler', handler: shape.handler })
  if (shape.onReorg !== 'undefined' && shape.onReorg !== 'function')
    throw new FunctionShapeError({ file, problem: 'bad-onReorg', onReorg: shape.onReorg })
  try {
    const data: { trigger: unknown; limits: unknown; retry: unknown; capabilities: unknown } =
      await context.eval(
        `(({ trigger, limits, retry, capabilities }) => ({ trigger, limits, retry, capabilities }))(globalThis.${bundleGlobal}.default)`,
        { copy: true, timeout: 1000 },
      )
    return { ...data, hasOnReorg: shape.onReorg === 'function' }
  } catch (error) {
    throw new FunctionDataNotPlainError({ file, cause: error })
  }
}
