import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir, testAbiSource } from '../../../../test/fixtures/testFunctions.js'
import { FunctionBuildError } from '../internal/errors.js'
import { loadFunction } from './loadFunction.js'
import { loadFunctions } from './loadFunctions.js'

const dir = makeFunctionsDir()
afterAll(() => dir.remove())

async function loadError(file: string): Promise<FunctionBuildError> {
  const error = await loadFunction(file).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(FunctionBuildError)
  return error as FunctionBuildError
}

describe('loadFunction', () => {
  it('reads trigger, limits and onReorg out of a function as data', async () => {
    const file = dir.write(
      'paid',
      `const abi = ${testAbiSource}
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi, event: 'InstallmentPaid', args: { loanId: 7n } },
  limits: { timeoutMs: 250 },
  async handler(ctx) { return ctx.event.args.loanId },
  async onReorg() {},
})`,
    )
    const bundle = await loadFunction(file)
    expect(bundle).toMatchObject({ name: 'paid', file, hasOnReorg: true, limits: { timeoutMs: 250 } })
    expect(bundle.trigger).toMatchObject({ type: 'event', event: 'InstallmentPaid', args: { loanId: 7n } })
    expect(bundle.code).toContain('__pbj_module')
  })

  it('names the field of a bad trigger', async () => {
    const error = await loadError(
      dir.write(
        'zero',
        "export default defineFunction({ trigger: { type: 'blocks', every: 0 }, handler() {} })",
      ),
    )
    expect(error.shortMessage).toMatch(
      /zero\.ts: trigger\.every must be a positive integer \(number of blocks\); got 0$/,
    )
  })

  it('names an event missing from the abi', async () => {
    const file = dir.write(
      'nope',
      `const abi = ${testAbiSource}
export default defineFunction({
  // @ts-expect-error not an event of the abi
  trigger: { type: 'event', contract: 'CarLoan', abi, event: 'LoanOpened' },
  handler() {},
})`,
    )
    const error = await loadError(file)
    expect(error.shortMessage).toContain("nope.ts: trigger.event must name an event in abi; got 'LoanOpened'")
  })

  it('explains a missing default export with the expected shape', async () => {
    const error = await loadError(
      dir.write(
        'nodefault',
        "export const fn = defineFunction({ trigger: { type: 'blocks', every: 1 }, handler() {} })",
      ),
    )
    expect(error.shortMessage).toContain('nodefault.ts has no default export (it exports fn)')
    expect(error.details).toContain('export default defineFunction({')
  })

  it('explains a default export without a handler', async () => {
    const error = await loadError(
      dir.write('nohandler', "export default { trigger: { type: 'blocks', every: 1 } }"),
    )
    expect(error.shortMessage).toContain('must have a handler function; handler is undefined')
  })

  it('reports top-level code that throws or loops', async () => {
    const threw = await loadError(dir.write('toplevel', "throw new Error('no config')\nexport default 1"))
    expect(threw.shortMessage).toContain('toplevel.ts threw while loading: no config')
    const looped = await loadError(dir.write('toploop', 'while (true) {}\nexport default 1'))
    expect(looped.shortMessage).toContain('toploop.ts threw while loading')
  })
})

describe('loadFunctions', () => {
  it('loads the good files, reports the broken ones, and skips the rest', async () => {
    const folder = join(dir.path, 'functions')
    mkdirSync(folder)
    const write = (name: string, body: string) => writeFileSync(join(folder, name), body)
    const good =
      "import { defineFunction } from 'pbj'\nexport default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler() {} })"
    write('a.ts', good)
    write('b.mjs', good)
    write('broken.ts', 'export default {')
    write('a.js', good)
    write('a.test.ts', 'nope nope')
    write('types.d.ts', 'nope nope')
    write('.hidden.ts', 'nope nope')
    write('notes.md', 'nope nope')
    mkdirSync(join(folder, 'lib.ts'))
    const { functions, errors } = await loadFunctions(folder)
    expect(functions.map((f) => f.name)).toEqual(['a', 'b'])
    expect(errors.map((e) => e.shortMessage)).toEqual([
      expect.stringContaining("a.ts: another function is already named 'a'"),
      expect.stringContaining('broken.ts:1:17'),
    ])
  })

  it('refuses a missing folder with a hint', async () => {
    const error = await loadFunctions(join(dir.path, 'absent')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FunctionBuildError)
    expect((error as FunctionBuildError).shortMessage).toMatch(/absent does not exist$/)
    expect((error as FunctionBuildError).hint).toContain('defineFunction')
  })
})
