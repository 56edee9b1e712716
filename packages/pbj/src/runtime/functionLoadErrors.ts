import { messageOf } from '@pbj/internal/messageOf.js'
import { displayPath } from '../internal/displayPath.js'
import { FunctionBuildError } from '../internal/errors.js'

// The ways a function file fails to build or load, one class each. They all extend FunctionBuildError, so
// they stay user errors and cross the sandbox boundary as that family.
// Each keeps its family's `name`: a run's error is stored and shown (`pbj runs`) by name, so the class
// tells them apart in code and the record reads as before.

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

const ctxHint =
  'Functions run in a sandbox without Node, the network or npm clients. Use ctx instead: ctx.chain.read for ' +
  'contract state, ctx.devices.lock/unlock/warn/get for devices, ctx.kv for storage, ctx.log for logs, ' +
  'ctx.secrets for secrets.'

/** A function file imports a module the sandbox does not offer (fs, net, viem…). */
export class SandboxImportError extends FunctionBuildError {
  constructor(params: {
    file: string
    at: string
    module: string
    codeFrame: string | undefined
    cause: unknown
  }) {
    const { file, at, module } = params
    super(
      `${at}: cannot import '${module}': functions run in a sandbox, where '${module}' is not available`,
      {
        details: params.codeFrame,
        hint: ctxHint,
        cause: params.cause,
        meta: { file },
      },
    )
  }
}

/** esbuild could not bundle a function file: a syntax error, or an import it cannot resolve. */
export class FunctionSyntaxError extends FunctionBuildError {
  constructor(params: {
    file: string
    at: string
    text: string
    codeFrame: string | undefined
    cause: unknown
  }) {
    const { file, at, text } = params
    super(`${at}: ${text}`, {
      details: params.codeFrame,
      hint: text.startsWith('Could not resolve')
        ? 'Check the import path. Packages must be installed in the project, and only pure JavaScript packages work in the sandbox.'
        : 'Fix the code at that line. Functions are TypeScript or JavaScript modules with a default export.',
      cause: params.cause,
      meta: { file },
    })
  }
}

/** Bundling failed without an esbuild message pbj can point at: no output, or a foreign failure. */
export class FunctionBundleError extends FunctionBuildError {
  constructor(
    params: { file: string; problem: 'no-output' } | { file: string; problem: 'failed'; cause: unknown },
  ) {
    const { file } = params
    if (params.problem === 'no-output') super(`${displayPath(file)}: esbuild produced no output`)
    else
      super(`Could not build ${displayPath(file)}: ${String(params.cause)}`, {
        cause: params.cause,
        meta: { file },
      })
  }
}

/** What a function file's default export got wrong, as {@link FunctionShapeError} says it. */
export type FunctionShapeProblem =
  | { problem: 'no-default-export'; exports: readonly string[] }
  | { problem: 'not-object'; type: string }
  | { problem: 'no-handler'; handler: string }
  | { problem: 'bad-onReorg'; onReorg: string }

/** A function file's default export is missing or is not a `defineFunction({ trigger, handler })`. */
export class FunctionShapeError extends FunctionBuildError {
  constructor(params: { file: string } & FunctionShapeProblem) {
    const { file } = params
    super(`${displayPath(file)} ${shapeProblem(params)}`, {
      details: `A function file looks like this:\n\n${expectedShape}`,
      hint: 'Export the function as default, made with defineFunction({ trigger, handler }).',
      meta: { file },
    })
  }
}

function shapeProblem(p: FunctionShapeProblem): string {
  switch (p.problem) {
    case 'no-default-export':
      return `has no default export${p.exports.length ? ` (it exports ${p.exports.join(', ')})` : ''}`
    case 'not-object':
      return `must export an object by default; it exports a ${p.type}`
    case 'no-handler':
      return `must have a handler function; handler is ${p.handler}`
    case 'bad-onReorg':
      return `must have onReorg as a function or leave it out; onReorg is ${p.onReorg}`
  }
}

/** A function's trigger, limits, retry or capabilities hold something that cannot be copied out (a function, a class instance). */
export class FunctionDataNotPlainError extends FunctionBuildError {
  constructor(params: { file: string; cause: unknown }) {
    const { file, cause } = params
    super(`${displayPath(file)}: trigger, limits, retry and capabilities must be plain data`, {
      details: messageOf(cause),
      hint: 'Use literals, arrays, objects, bigints and ABIs in trigger, limits, retry and capabilities; no functions or class instances.',
      cause,
      meta: { file },
    })
  }
}

/**
 * A function's trigger, limits, retry or capabilities do not validate. `lines` are the issues as
 * `path message` lines, first one first; `example` shows the section written right.
 */
export class InvalidFunctionDataError extends FunctionBuildError {
  constructor(params: {
    file: string
    lines: readonly string[]
    example: string | undefined
    issues: unknown[]
  }) {
    const { file, lines } = params
    const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : ''
    super(`${displayPath(file)}: ${lines[0] ?? 'invalid function'}${more}`, {
      details: lines.length > 1 ? lines.map((l) => `- ${l}`).join('\n') : undefined,
      hint: `Write it like ${params.example}`,
      meta: { file, issues: params.issues },
    })
  }
}

/**
 * A function file's top-level code failed when the sandbox ran it: it threw, ran the isolate out of
 * memory, or its module could not be attached to the run bridge.
 */
export class FunctionEvalError extends FunctionBuildError {
  constructor(params: { file: string; problem: 'threw' | 'out-of-memory' | 'attach'; cause: unknown }) {
    const { file, problem, cause } = params
    if (problem === 'attach') super(`${displayPath(file)}: ${messageOf(cause)}`, { cause })
    else
      super(
        `${displayPath(file)} ${problem === 'out-of-memory' ? 'ran out of memory while loading' : `threw while loading: ${messageOf(cause)}`}`,
        {
          details: cause instanceof Error ? cause.stack : undefined,
          hint: 'Top-level code of a function file runs when it is loaded; keep it to imports and constants.',
          cause,
          meta: { file },
        },
      )
  }
}

/** A function file failed to load for a reason no more precise class names (a foreign error). */
export class FunctionLoadError extends FunctionBuildError {
  constructor(params: { file: string; cause: unknown }) {
    const { file, cause } = params
    super(`Could not load ${displayPath(file)}: ${messageOf(cause)}`, { cause, meta: { file } })
  }
}

/** The functions folder is missing or is not a folder, so there is nothing to load. */
export class FunctionsFolderError extends FunctionBuildError {
  constructor(params: { dir: string; problem: 'missing' | 'not-a-folder' }) {
    const { dir } = params
    super(
      `Functions folder ${displayPath(dir)} ${params.problem === 'missing' ? 'does not exist' : 'is not a folder'}`,
      {
        hint: 'Create it and add a function file, e.g. functions/lockCar.ts with export default defineFunction({ trigger, handler }).',
        meta: { dir },
      },
    )
  }
}

/** `pbj dev` found no functions folder to load and watch. */
export class NoFunctionsFolderError extends FunctionBuildError {
  constructor(params: { dir: string }) {
    super(`No functions folder at ${params.dir}`, {
      hint: 'Create functions/ with one file per function (see README "Writing a function"), or run `pbj dev --dir examples/car-loan`.',
    })
  }
}

/** A reload of the functions failed with an error that is not pbj's own. */
export class FunctionReloadError extends FunctionBuildError {
  constructor(params: { cause: unknown }) {
    super(`Could not reload the functions: ${String(params.cause)}`, { cause: params.cause })
  }
}
