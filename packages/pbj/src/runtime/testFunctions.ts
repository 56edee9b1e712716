import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunInput } from './sandboxTypes.js'

/** An event ABI for test functions (the real ones come from '@pbj/contracts'). */
export const testAbiSource = `[
  { type: 'event', name: 'InstallmentPaid', anonymous: false, inputs: [
    { name: 'loanId', type: 'uint256', indexed: true },
    { name: 'amount', type: 'uint256', indexed: false },
  ] },
  { type: 'function', name: 'isDelinquent', stateMutability: 'view',
    inputs: [{ name: 'loanId', type: 'uint256' }], outputs: [{ name: '', type: 'bool' }] },
] as const`

/**
 * A temp folder for function files, with a writer and a cleanup. Test helper.
 *
 * @example
 * const dir = makeFunctionsDir()
 * const file = dir.write('tick', "export default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler() {} })")
 * dir.remove()
 */
export function makeFunctionsDir(): {
  path: string
  write(name: string, body: string): string
  remove(): void
} {
  const path = mkdtempSync(join(tmpdir(), 'pbj-functions-'))
  return {
    path,
    write(name, body) {
      const file = join(path, name.includes('.') ? name : `${name}.ts`)
      writeFileSync(file, `import { defineFunction } from 'pbj'\n${body}\n`)
      return file
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  }
}

/**
 * A run input for tests: block 100, chain 31337, plus any overrides.
 *
 * @example
 * await sandbox.run('tick', testInput({ schedule: { at: 5n } }), host)
 */
export function testInput(overrides: Partial<RunInput> = {}): RunInput {
  return {
    block: { number: 100n, hash: `0x${'ab'.repeat(32)}`, timestamp: 1_700_000_000n },
    chainId: 31337,
    run: { id: 'run-1', jobId: 'job-1', attempt: 1, functionName: 'test' },
    secrets: { API_KEY: 'secret' },
    ...overrides,
  }
}
