import { messageOf } from '@pbj/internal/messageOf.js'
import type ivm from 'isolated-vm'
import { displayPath } from '../internal/displayPath.js'
import { FunctionBuildError } from '../internal/errors.js'
import { bundleGlobal } from './bundleFunction.js'

/** Reminds the user what a function file looks like. */
export const expectedShape = [
  "import { defineFunction } from 'pbj'",
  '',
  'export default defineFunction({',
  "  trigger: { type: 'blocks', every: 10 },",
  '  async handler(ctx) {',
  "    ctx.log.info('block', ctx.block.number)",
  '  },',
  '})',
].join('\n')

/**
 * Reads what a bundle exported as default, as copied plain data, with a FunctionBuildError showing the
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
  const fail = (what: string) =>
    new FunctionBuildError(`${displayPath(file)} ${what}`, {
      details: `A function file looks like this:\n\n${expectedShape}`,
      hint: 'Export the function as default, made with defineFunction({ trigger, handler }).',
      meta: { file },
    })
  if (shape.type === 'undefined') {
    const named = shape.exports.length ? ` (it exports ${shape.exports.join(', ')})` : ''
    throw fail(`has no default export${named}`)
  }
  if (shape.type !== 'object') throw fail(`must export an object by default; it exports a ${shape.type}`)
  if (shape.handler !== 'function') throw fail(`must have a handler function; handler is ${shape.handler}`)
  if (shape.onReorg !== 'undefined' && shape.onReorg !== 'function') {
    throw fail(`must have onReorg as a function or leave it out; onReorg is ${shape.onReorg}`)
  }
  try {
    const data: { trigger: unknown; limits: unknown; retry: unknown; capabilities: unknown } =
      await context.eval(
        `(({ trigger, limits, retry, capabilities }) => ({ trigger, limits, retry, capabilities }))(globalThis.${bundleGlobal}.default)`,
        { copy: true, timeout: 1000 },
      )
    return { ...data, hasOnReorg: shape.onReorg === 'function' }
  } catch (error) {
    throw new FunctionBuildError(
      `${displayPath(file)}: trigger, limits, retry and capabilities must be plain data`,
      {
        details: messageOf(error),
        hint: 'Use literals, arrays, objects, bigints and ABIs in trigger, limits, retry and capabilities; no functions or class instances.',
        cause: error,
        meta: { file },
      },
    )
  }
}
