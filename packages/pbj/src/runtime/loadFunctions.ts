import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { displayPath } from '../internal/displayPath.js'
import { DuplicateFunctionError, FunctionBuildError } from '../internal/errors.js'
import { FunctionLoadError, FunctionsFolderError } from './functionLoadErrors.js'
import { type FunctionBundle, loadFunction } from './loadFunction.js'

const functionFile = /^[^.].*\.(ts|mts|js|mjs)$/
const notFunction = /\.(test|spec)\.[^.]+$|\.d\.m?ts$/

/**
 * Whether a file name in the functions folder is a function: `*.ts`, `*.mts`, `*.js`, `*.mjs`, but not
 * tests, declaration files or dotfiles.
 *
 * @example
 * isFunctionFile('lockCar.ts') // true
 * isFunctionFile('lockCar.test.ts') // false
 */
export function isFunctionFile(name: string): boolean {
  return functionFile.test(name) && !notFunction.test(name)
}

function asBuildError(error: unknown, file: string): FunctionBuildError {
  if (error instanceof FunctionBuildError) return error
  return new FunctionLoadError({ file, cause: error })
}

/**
 * Loads every function file directly in `dir`. A broken file is reported in `errors` and does not stop the
 * others; two files with the same name (`a.ts`, `a.js`) are an error for the second.
 *
 * @throws FunctionsFolderError when `dir` does not exist or is not a folder
 * @example
 * const { functions, errors } = await loadFunctions('functions')
 * for (const error of errors) console.error(error.message)
 */
export async function loadFunctions(
  dir: string,
): Promise<{ functions: FunctionBundle[]; errors: FunctionBuildError[] }> {
  const absolute = resolve(dir)
  const info = await stat(absolute).catch(() => undefined)
  if (!info?.isDirectory()) {
    throw new FunctionsFolderError({ dir: absolute, problem: info ? 'not-a-folder' : 'missing' })
  }
  const names = (await readdir(absolute, { withFileTypes: true }))
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && isFunctionFile(entry.name))
    .map((entry) => entry.name)
    .sort()
  const results = await Promise.allSettled(names.map((name) => loadFunction(join(absolute, name))))
  const functions: FunctionBundle[] = []
  const errors: FunctionBuildError[] = []
  for (const [i, result] of results.entries()) {
    const file = join(absolute, names[i] ?? '')
    if (result.status === 'rejected') {
      errors.push(asBuildError(result.reason, file))
      continue
    }
    const twin = functions.find((f) => f.name === result.value.name)
    if (!twin) {
      functions.push(result.value)
      continue
    }
    errors.push(
      new DuplicateFunctionError({
        name: twin.name,
        file: displayPath(file),
        twinFile: displayPath(twin.file),
        meta: { file },
      }),
    )
  }
  return { functions, errors }
}
