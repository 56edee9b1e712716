import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir } from '../../../../test/fixtures/testFunctions.js'
import { displayPath } from '../internal/displayPath.js'
import { FunctionBuildError } from '../internal/errors.js'
import { bundleFunction } from './bundleFunction.js'

const dir = makeFunctionsDir()
afterAll(() => dir.remove())

async function buildError(file: string): Promise<FunctionBuildError> {
  const error = await bundleFunction(file).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(FunctionBuildError)
  return error as FunctionBuildError
}

describe('bundleFunction', () => {
  it('bundles a TypeScript function into one script with pbj resolved to the shim', async () => {
    const file = dir.write(
      'good',
      "import { defineFunction as d2 } from 'pbj/function'\nconst n: number = 2\nexport default defineFunction({ trigger: { type: 'blocks', every: n }, handler() { return d2(1) } })",
    )
    const code = await bundleFunction(file)
    expect(code).toMatch(/^var __pbj_module = /)
    expect(code).toContain('//# sourceMappingURL=data:application/json;base64,')
    expect(code).not.toContain('import ')
  })

  it('names file:line:column of a syntax error', async () => {
    const file = dir.write('syntax', 'const a = 1\nconst b = = 2\nexport default {}')
    const error = await buildError(file)
    expect(error.shortMessage).toBe(`${displayPath(file)}:3:11: Unexpected "="`)
    expect(error.details).toContain('const b = = 2')
    expect(error.hint).toBeTruthy()
  })

  it.each([
    ["import fs from 'node:fs'", 'fs', 'node:fs'],
    ["import { readFileSync } from 'fs'", 'readFileSync', 'fs'],
    ["import { exec } from 'child_process'", 'exec', 'child_process'],
    ["import http from 'http'", 'http', 'http'],
    ["import * as net from 'node:net'", 'net', 'node:net'],
    ["import { createPublicClient } from 'viem'", 'createPublicClient', 'viem'],
    ["import { encodeFunctionData } from 'viem/utils'", 'encodeFunctionData', 'viem/utils'],
    ["import mqtt from 'mqtt'", 'mqtt', 'mqtt'],
    ["const cp = require('child_process')", 'cp', 'child_process'],
  ])('refuses %s with the sandbox hint', async (line, binding, name) => {
    const file = dir.write(`imp${name.replace(/\W/g, '')}`, `${line}\nexport default [${binding}]`)
    const error = await buildError(file)
    expect(error.shortMessage).toContain(`${displayPath(file)}:`)
    expect(error.shortMessage).toContain(
      `cannot import '${name}': functions run in a sandbox, where '${name}' is not available`,
    )
    expect(error.hint).toContain('ctx.chain.read')
    expect(error.hint).toContain('ctx.kv')
  })

  it('reports an import that does not resolve', async () => {
    const error = await buildError(dir.write('missing', "import x from './nope.js'\nexport default x"))
    expect(error.shortMessage).toContain('Could not resolve "./nope.js"')
  })

  it('reports a missing file', async () => {
    const error = await buildError(`${dir.path}/absent.ts`)
    expect(error.message).toContain('absent.ts')
  })
})
